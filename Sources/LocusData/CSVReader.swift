import Foundation

/// One record of a CSV file, with the line where it starts (1-based, counting the header).
public struct CSVRecord: Equatable, Sendable {
    public var fields: [String]
    public var line: Int
}

/// An RFC 4180 CSV reader: fields separated by commas, records by LF or CRLF; a field in double
/// quotes may hold commas, line breaks and doubled quotes (`""` = one `"`). A UTF-8 byte-order
/// mark at the start is skipped. Anything else (a quote inside an unquoted field, text after a
/// closing quote, an unterminated quote) is an error naming the file and line.
public enum CSVReader {
    public static func read(_ url: URL) throws -> [CSVRecord] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DataError(file: url.path, problem: "cannot read: \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError(file: url.path, problem: "not valid UTF-8")
        }
        return try parse(text, file: url.path)
    }

    /// Parses CSV text; `file` only names the source in errors.
    public static func parse(_ text: String, file: String) throws -> [CSVRecord] {
        var scalars = Substring(text).unicodeScalars[...]
        if scalars.first == "\u{FEFF}" { scalars = scalars.dropFirst() }
        var records: [CSVRecord] = []
        var fields: [String] = []
        var field = String.UnicodeScalarView()
        var line = 1
        var recordLine = 1
        var inQuotes = false
        var quoteLine = 0
        var fieldWasQuoted = false
        var afterClosingQuote = false
        var recordHasContent = false
        var it = scalars.makeIterator()
        var pending: Unicode.Scalar? = nil

        func endField() {
            fields.append(String(field))
            field = String.UnicodeScalarView()
            fieldWasQuoted = false
            afterClosingQuote = false
        }
        func endRecord() {
            endField()
            // A blank line (one empty unquoted field) is not a record.
            if !(fields.count == 1 && fields[0].isEmpty && !recordHasContent) {
                records.append(CSVRecord(fields: fields, line: recordLine))
            }
            fields = []
            recordHasContent = false
        }

        while let c = pending ?? it.next() {
            pending = nil
            if inQuotes {
                if c == "\"" {
                    let next = it.next()
                    if next == "\"" {
                        field.append("\"")
                    } else {
                        inQuotes = false
                        afterClosingQuote = true
                        pending = next
                    }
                } else {
                    if c == "\n" { line += 1 }
                    field.append(c)
                }
                continue
            }
            switch c {
            case ",":
                endField()
                recordHasContent = true
            case "\r":
                let next = it.next()
                if next != "\n" {
                    throw DataError(file: file, line: line, problem: "bare carriage return")
                }
                endRecord()
                line += 1
                recordLine = line
            case "\n":
                endRecord()
                line += 1
                recordLine = line
            case "\"":
                guard field.isEmpty, !fieldWasQuoted else {
                    throw DataError(
                        file: file, line: line,
                        problem: "a double quote inside a field that does not start with one")
                }
                inQuotes = true
                fieldWasQuoted = true
                quoteLine = line
                recordHasContent = true
            default:
                if afterClosingQuote {
                    throw DataError(
                        file: file, line: line, problem: "text after the closing quote of a field")
                }
                field.append(c)
                recordHasContent = true
            }
        }
        if inQuotes {
            throw DataError(
                file: file, line: quoteLine, problem: "quoted field is never closed")
        }
        if recordHasContent || !field.isEmpty || !fields.isEmpty { endRecord() }
        return records
    }
}
