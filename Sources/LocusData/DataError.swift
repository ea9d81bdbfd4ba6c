import LocusCore
/// A data file that cannot be read as the format it claims: names the file, and the line when
/// one is known, so a malformed row can be found and fixed.
public struct DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file's path as given.
    public var file: String
    /// 1-based line of the problem (the line where the offending record starts), if known.
    public var line: Int?
    public var problem: String

    public init(file: String, line: Int? = nil, problem: String) {
        self.file = file
        self.line = line
        self.problem = problem
    }

    public var description: String {
        if let line { return "\(file):\(line): \(problem)" }
        return "\(file): \(problem)"
    }
}

extension DataError {
    /// A JSON syntax error as a data-file error (same file, line and problem).
    public init(_ error: JSONValue.ParseError) {
        self.init(file: error.file, line: error.line, problem: error.problem)
    }
}

extension JSONValue {
    /// `parseArray`, its syntax errors as `DataError`s.
    static func parseDataArray(_ text: String, file: String) throws -> [(line: Int, value: JSONValue)] {
        do { return try parseArray(text, file: file) } catch let e as ParseError { throw DataError(e) }
    }

    /// `parse`, its syntax errors as `DataError`s.
    static func parseData(_ text: String, file: String) throws -> JSONValue {
        do { return try parse(text, file: file) } catch let e as ParseError { throw DataError(e) }
    }
}
