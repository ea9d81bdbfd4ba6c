import Foundation

/// A parsed JSON value whose objects keep their keys in file order. TruthfulQA's `mc_task.json`
/// stores answer choices as object keys, and their order is meaningful (MC1's best answer comes
/// first), which `JSONSerialization` on Linux does not preserve.
public indirect enum OrderedJSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([OrderedJSON])
    case object([(key: String, value: OrderedJSON)])

    public static func == (a: OrderedJSON, b: OrderedJSON) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)):
            x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    /// The value of `key` in an object (the first, if repeated).
    public subscript(key: String) -> OrderedJSON? {
        guard case .object(let fields) = self else { return nil }
        return fields.first { $0.key == key }?.value
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var number: Double? { if case .number(let d) = self { d } else { nil } }
    public var array: [OrderedJSON]? { if case .array(let a) = self { a } else { nil } }
    public var fields: [(key: String, value: OrderedJSON)]? {
        if case .object(let f) = self { f } else { nil }
    }

    /// Parses a whole document.
    public static func parse(_ text: String, file: String) throws -> OrderedJSON {
        var parser = OrderedJSONParser(text: text, file: file)
        return try parser.document()
    }

    /// Parses a document whose top level is an array, returning each element with the line on
    /// which it starts (for errors that name a record).
    public static func parseArray(_ text: String, file: String) throws -> [(
        line: Int, value: OrderedJSON
    )] {
        var parser = OrderedJSONParser(text: text, file: file)
        return try parser.topLevelArray()
    }
}

/// A recursive-descent JSON parser over UTF-8 bytes that tracks line numbers.
struct OrderedJSONParser {
    private let bytes: [UInt8]
    private let file: String
    private var i = 0
    private var line = 1
    private static let maxDepth = 64

    init(text: String, file: String) {
        bytes = Array(text.utf8)
        self.file = file
    }

    private func fail(_ why: String) -> DataError { DataError(file: file, line: line, problem: why) }

    mutating func document() throws -> OrderedJSON {
        skipSpace()
        let v = try value(depth: 0)
        skipSpace()
        guard i == bytes.count else { throw fail("unexpected text after the JSON value") }
        return v
    }

    mutating func topLevelArray() throws -> [(line: Int, value: OrderedJSON)] {
        skipSpace()
        guard peek() == UInt8(ascii: "[") else { throw fail("expected a JSON array") }
        i += 1
        var items: [(line: Int, value: OrderedJSON)] = []
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

    private mutating func value(depth: Int) throws -> OrderedJSON {
        guard depth < Self.maxDepth else { throw fail("JSON nested too deeply") }
        skipSpace()
        guard let c = peek() else { throw fail("unexpected end of JSON") }
        switch c {
        case UInt8(ascii: "{"):
            i += 1
            var fields: [(key: String, value: OrderedJSON)] = []
            skipSpace()
            if peek() == UInt8(ascii: "}") {
                i += 1
                return .object(fields)
            }
            while true {
                skipSpace()
                guard peek() == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let key = try string()
                skipSpace()
                guard next() == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
                fields.append((key, try value(depth: depth + 1)))
                skipSpace()
                guard let d = next() else { throw fail("unterminated object") }
                if d == UInt8(ascii: "}") { return .object(fields) }
                guard d == UInt8(ascii: ",") else { throw fail("expected ',' or '}' in object") }
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [OrderedJSON] = []
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
            return .number(try number())
        }
    }

    private mutating func literal(_ word: String, _ v: OrderedJSON) throws -> OrderedJSON {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else {
            throw fail("invalid literal")
        }
        i += w.count
        return v
    }

    private mutating func number() throws -> Double {
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
        return d
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
