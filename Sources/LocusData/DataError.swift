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
