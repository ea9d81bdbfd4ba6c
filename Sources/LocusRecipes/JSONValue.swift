import Foundation
import LocusData

/// A model-free JSON value for recipes, run specifications and result records. Objects keep
/// their keys in the order written (records read in the documented order); `canonicalText`
/// sorts keys recursively and is what run IDs hash.
public indirect enum JSONValue: Hashable, Sendable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([Field])

    public struct Field: Hashable, Sendable {
        public var key: String
        public var value: JSONValue
        public init(_ key: String, _ value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// An object from ordered (key, value) pairs.
    public static func object(_ pairs: KeyValuePairs<String, JSONValue>) -> JSONValue {
        .object(pairs.map { Field($0.key, $0.value) })
    }

    /// An object from a dictionary, keys sorted.
    public init(_ dictionary: [String: JSONValue]) {
        self = .object(dictionary.keys.sorted().map { Field($0, dictionary[$0]!) })
    }

    /// Conversion from LocusData's order-keeping parse tree.
    public init(_ json: OrderedJSON) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .number(let d): self = .number(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .array(a.map(JSONValue.init))
        case .object(let f): self = .object(f.map { Field($0.key, JSONValue($0.value)) })
        }
    }

    /// Parses a whole document (keys in file order). Errors name the file and line.
    public static func parse(_ text: String, file: String = "<json>") throws -> JSONValue {
        JSONValue(try OrderedJSON.parse(text, file: file))
    }

    // MARK: access

    public subscript(key: String) -> JSONValue? {
        guard case .object(let fields) = self else { return nil }
        return fields.first { $0.key == key }?.value
    }

    public var fields: [Field]? { if case .object(let f) = self { f } else { nil } }
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var number: Double? { if case .number(let d) = self { d } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    /// The number if it is a whole number that fits an Int.
    public var int: Int? {
        guard let d = number, d == d.rounded(), abs(d) < 9.0e15 else { return nil }
        return Int(d)
    }

    /// The object's fields as a dictionary (the first of repeated keys wins).
    public var dictionary: [String: JSONValue]? {
        guard let fields else { return nil }
        var d: [String: JSONValue] = [:]
        for f in fields where d[f.key] == nil { d[f.key] = f.value }
        return d
    }

    /// A copy with `key` set (replaced in place, or appended).
    public func setting(_ key: String, _ value: JSONValue) -> JSONValue {
        guard case .object(var fields) = self else { return self }
        if let i = fields.firstIndex(where: { $0.key == key }) {
            fields[i].value = value
        } else {
            fields.append(Field(key, value))
        }
        return .object(fields)
    }

    /// A copy without `keys`.
    public func removing(_ keys: Set<String>) -> JSONValue {
        guard case .object(let fields) = self else { return self }
        return .object(fields.filter { !keys.contains($0.key) })
    }

    // MARK: printing

    /// Compact text, keys in stored order. Non-finite numbers print as null.
    public var text: String { render(sorted: false) }
    /// Compact text with keys sorted recursively: equal values give equal bytes.
    public var canonicalText: String { render(sorted: true) }
    public var description: String { text }

    func render(sorted: Bool) -> String {
        var out = ""
        write(into: &out, sorted: sorted)
        return out
    }

    private func write(into out: inout String, sorted: Bool) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let d): out += Self.format(d)
        case .string(let s): out += Self.quote(s)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out, sorted: sorted)
            }
            out += "]"
        case .object(let fields):
            let ordered = sorted ? fields.sorted { $0.key < $1.key } : fields
            out += "{"
            for (i, f) in ordered.enumerated() {
                if i > 0 { out += "," }
                out += Self.quote(f.key) + ":"
                f.value.write(into: &out, sorted: sorted)
            }
            out += "}"
        }
    }

    /// Whole numbers print without a fraction ("15", not "15.0"); others in Swift's shortest
    /// round-tripping form; NaN and infinities as null (JSON has neither).
    public static func format(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }

    public static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20: out += String(format: "\\u%04x", c.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    // MARK: Codable (through Foundation's coders; object key order is not kept there)

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: Key.self) {
            self = .object(
                try keyed.allKeys.map(\.stringValue).sorted().map {
                    Field($0, try keyed.decode(JSONValue.self, forKey: Key(stringValue: $0)))
                })
            return
        }
        if var list = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !list.isAtEnd { items.append(try list.decode(JSONValue.self)) }
            self = .array(items)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let b = try? single.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? single.decode(Double.self) {
            self = .number(d)
        } else {
            self = .string(try single.decode(String.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .object(let fields):
            var keyed = encoder.container(keyedBy: Key.self)
            for f in fields { try keyed.encode(f.value, forKey: Key(stringValue: f.key)) }
        case .array(let items):
            var list = encoder.unkeyedContainer()
            for item in items { try list.encode(item) }
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .bool(let b):
            var single = encoder.singleValueContainer()
            try single.encode(b)
        case .number(let d):
            var single = encoder.singleValueContainer()
            if d.isFinite { try single.encode(d) } else { try single.encodeNil() }
        case .string(let s):
            var single = encoder.singleValueContainer()
            try single.encode(s)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
}
