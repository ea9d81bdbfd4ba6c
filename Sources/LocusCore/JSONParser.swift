import Foundation
import OrderedCollections

extension JSONValue {
    /// A JSON text that does not parse: the file, the 1-based line, and what is wrong.
    public struct ParseError: Error, CustomStringConvertible, Equatable, Sendable {
        public var file: String
        public var line: Int
        public var problem: String

        public init(file: String, line: Int, problem: String) {
            self.file = file
            self.line = line
            self.problem = problem
        }

        public var description: String { "\(file):\(line): \(problem)" }
    }

    /// Parses a whole document (keys in file order). Errors name the file and line.
    public static func parse(_ text: String, file: String = "<json>") throws -> JSONValue {
        var parser = JSONParser(text: text, file: file)
        return try parser.document()
    }

    /// Parses a document whose top level is an array, returning each element with the line on
    /// which it starts (for errors that name a record).
    public static func parseArray(_ text: String, file: String) throws -> [(line: Int, value: JSONValue)] {
        var parser = JSONParser(text: text, file: file)
        return try parser.topLevelArray()
    }
}

/// A recursive-descent JSON parser over UTF-8 bytes that tracks line numbers.
struct JSONParser {
    private let bytes: [UInt8]
    private let file: String
    private var i = 0
    private var line = 1
    private static let maxDepth = 64

    init(text: String, file: String) {
        bytes = Array(text.utf8)
        self.file = file
    }

    private func fail(_ why: String) -> JSONValue.ParseError { JSONValue.ParseError(file: file, line: line, problem: why) }

    mutating func document() throws -> JSONValue {
        skipSpace()
        let v = try value(depth: 0)
        skipSpace()
        guard i == bytes.count else { throw fail("unexpected text after the JSON value") }
        return v
    }

    mutating func topLevelArray() throws -> [(line: Int, value: JSONValue)] {
        skipSpace()
        guard peek() == UInt8(ascii: "[") else { throw fail("expected a JSON array") }
        i += 1
        var items: [(line: Int, value: JSONValue)] = []
        skipSpace()
        if peek() == UInt8(ascii: "]") {
            i += 1
        } else {
            while true {
                skipSpace()
                let start = line
                items.append((start, try value(depth: 1)))
                skipSpace()
                guard let c = next() else { throw fail("unterminated array") }
                if c == UInt8(ascii: "]") { break }
                guard c == UInt8(ascii: ",") else { throw fail("expected ',' or ']' in array") }
            }
        }
        skipSpace()
        guard i == bytes.count else { throw fail("unexpected text after the JSON array") }
        return items
    }

    private func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func next() -> UInt8? {
        guard i < bytes.count else { return nil }
        defer { i += 1 }
        return bytes[i]
    }

    private mutating func skipSpace() {
        while let c = peek(), c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
            if c == 0x0A { line += 1 }
            i += 1
        }
    }

    private mutating func value(depth: Int) throws -> JSONValue {
        guard depth < Self.maxDepth else { throw fail("JSON nested too deeply") }
        skipSpace()
        guard let c = peek() else { throw fail("unexpected end of JSON") }
        switch c {
        case UInt8(ascii: "{"):
            i += 1
            var fields = OrderedDictionary<String, JSONValue>()
            skipSpace()
            if peek() == UInt8(ascii: "}") {
                i += 1
                return .object(fields)
            }
            while true {
                skipSpace()
                guard peek() == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let keyLine = line
                let key = try string()
                skipSpace()
                guard next() == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
                let v = try value(depth: depth + 1)
                guard fields.updateValue(v, forKey: key) == nil else {
                    throw JSONValue.ParseError(file: file, line: keyLine, problem: "key \"\(key)\" appears twice in one object")
                }
                skipSpace()
                guard let d = next() else { throw fail("unterminated object") }
                if d == UInt8(ascii: "}") { return .object(fields) }
                guard d == UInt8(ascii: ",") else { throw fail("expected ',' or '}' in object") }
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if peek() == UInt8(ascii: "]") {
                i += 1
                return .array(items)
            }
            while true {
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard let d = next() else { throw fail("unterminated array") }
                if d == UInt8(ascii: "]") { return .array(items) }
                guard d == UInt8(ascii: ",") else { throw fail("expected ',' or ']' in array") }
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        default:
            return try number()
        }
    }

    private mutating func literal(_ word: String, _ v: JSONValue) throws -> JSONValue {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else {
            throw fail("invalid literal")
        }
        i += w.count
        return v
    }

    /// `.integer` for a plain whole number that fits `Int`, `.number` otherwise.
    private mutating func number() throws -> JSONValue {
        let start = i
        while let c = peek(),
            (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-")
                || c == UInt8(ascii: "+") || c == UInt8(ascii: ".") || c == UInt8(ascii: "e")
                || c == UInt8(ascii: "E")
        {
            i += 1
        }
        guard i > start, let s = String(bytes: bytes[start..<i], encoding: .utf8),
            let d = Double(s)
        else { throw fail("invalid JSON value") }
        if !s.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let n = Int(s) { return .integer(n) }
        return .number(d)
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count,
            let s = String(bytes: bytes[i..<(i + 4)], encoding: .ascii),
            let v = UInt32(s, radix: 16)
        else { throw fail("invalid \\u escape") }
        i += 4
        return v
    }

    private mutating func string() throws -> String {
        i += 1  // opening quote
        var out: [UInt8] = []
        while true {
            guard let c = next() else { throw fail("unterminated string") }
            switch c {
            case UInt8(ascii: "\""):
                guard let s = String(bytes: out, encoding: .utf8) else {
                    throw fail("string is not valid UTF-8")
                }
                return s
            case UInt8(ascii: "\\"):
                guard let e = next() else { throw fail("unterminated escape") }
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code) {
                        guard next() == UInt8(ascii: "\\"), next() == UInt8(ascii: "u") else {
                            throw fail("unpaired surrogate in \\u escape")
                        }
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else {
                            throw fail("unpaired surrogate in \\u escape")
                        }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw fail("invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw fail("invalid escape in string")
                }
            case 0x0A:
                throw fail("line break inside a string")
            default:
                out.append(c)
            }
        }
    }
}
