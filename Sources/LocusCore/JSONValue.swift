import Foundation
import OrderedCollections

/// A JSON value: the one type every Locus layer reads and writes JSON with (recipes, run
/// records, data files, probe rankings, command output).
///
/// - Objects keep their keys in the order written (`OrderedDictionary`), so records print in
///   their documented order and TruthfulQA's `mc_task.json`, whose answer order is meaningful,
///   reads as written. A key may appear once per object (a repeat is a parse error).
/// - Numbers round-trip: a number written without fraction or exponent that fits `Int` is
///   `.integer` and prints as written (`15`, also past 2⁵³); any other number is `.number` and
///   prints in Swift's shortest round-tripping form, a whole one without fraction (`15`, not
///   `15.0`). `.integer(15)` and `.number(15)` are equal. NaN and ±∞ print as `null`.
/// - Parse errors name the file and the 1-based line (`JSONValue.ParseError`).
///
/// `canonicalText` sorts keys recursively: equal values give equal bytes (what run IDs hash).
public indirect enum JSONValue: Sendable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    /// A whole number written without fraction or exponent.
    case integer(Int)
    /// Any other number.
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(OrderedDictionary<String, JSONValue>)

    // MARK: building

    /// `.integer(i)`.
    public static func int(_ i: Int) -> JSONValue { .integer(i) }
    /// `.number(d)`.
    public static func double(_ d: Double) -> JSONValue { .number(d) }
    /// A `Float` printed in `Float`'s own shortest form (`0.1`, not `0.10000000149011612`).
    public static func float(_ f: Float) -> JSONValue {
        f.isFinite ? .number(Double("\(f)") ?? Double(f)) : .number(Double(f))
    }
    /// An object from ordered (key, value) pairs; a repeated key keeps its first place and its
    /// last value.
    public static func object(_ pairs: [(String, JSONValue)]) -> JSONValue {
        var fields = OrderedDictionary<String, JSONValue>()
        for (k, v) in pairs { fields[k] = v }
        return .object(fields)
    }

    /// `{}`.
    public static let emptyObject: JSONValue = .object(OrderedDictionary())

    /// An object from a dictionary, keys sorted.
    public init(_ dictionary: [String: JSONValue]) {
        var fields = OrderedDictionary<String, JSONValue>()
        for k in dictionary.keys.sorted() { fields[k] = dictionary[k]! }
        self = .object(fields)
    }

    // MARK: access

    /// The value of `key` in an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let fields) = self else { return nil }
        return fields[key]
    }

    public var fields: OrderedDictionary<String, JSONValue>? { if case .object(let f) = self { f } else { nil } }
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    /// Any number as a `Double`.
    public var number: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .number(let d): d
        default: nil
        }
    }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var isNull: Bool { if case .null = self { true } else { false } }
    /// The number if it is a whole number that fits an Int.
    public var int: Int? {
        switch self {
        case .integer(let i): return i
        case .number(let d):
            guard d == d.rounded(), abs(d) < 9.0e15 else { return nil }
            return Int(d)
        default: return nil
        }
    }

    /// The object's fields as a dictionary.
    public var dictionary: [String: JSONValue]? {
        guard let fields else { return nil }
        return Dictionary(uniqueKeysWithValues: fields.map { ($0.key, $0.value) })
    }

    /// A copy with `key` set (replaced in place, or appended).
    public func setting(_ key: String, _ value: JSONValue) -> JSONValue {
        guard case .object(var fields) = self else { return self }
        fields[key] = value
        return .object(fields)
    }

    /// A copy without `keys`.
    public func removing(_ keys: Set<String>) -> JSONValue {
        guard case .object(let fields) = self else { return self }
        return .object(fields.filter { !keys.contains($0.key) })
    }

    // MARK: printing

    /// Compact text, keys in stored order.
    public var text: String { render(sorted: false) }
    /// Compact text with keys sorted recursively: equal values give equal bytes.
    public var canonicalText: String { render(sorted: true) }
    public var description: String { text }

    /// Indented text (two spaces), keys in stored order; for files people read.
    public var prettyText: String {
        var out = ""
        writePretty(into: &out, indent: 0)
        return out
    }

    func render(sorted: Bool) -> String {
        var out = ""
        write(into: &out, sorted: sorted)
        return out
    }

    private func write(into out: inout String, sorted: Bool) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .integer(let i): out += String(i)
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
            let keys = sorted ? fields.keys.sorted() : Array(fields.keys)
            out += "{"
            for (i, k) in keys.enumerated() {
                if i > 0 { out += "," }
                out += Self.quote(k) + ":"
                fields[k]!.write(into: &out, sorted: sorted)
            }
            out += "}"
        }
    }

    private func writePretty(into out: inout String, indent: Int) {
        let pad = String(repeating: "  ", count: indent + 1), close = String(repeating: "  ", count: indent)
        switch self {
        case .array(let items) where !items.isEmpty:
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += pad
                item.writePretty(into: &out, indent: indent + 1)
                out += i + 1 < items.count ? ",\n" : "\n"
            }
            out += close + "]"
        case .object(let fields) where !fields.isEmpty:
            out += "{\n"
            for (i, f) in fields.enumerated() {
                out += pad + Self.quote(f.key) + ": "
                f.value.writePretty(into: &out, indent: indent + 1)
                out += i + 1 < fields.count ? ",\n" : "\n"
            }
            out += close + "}"
        default:
            write(into: &out, sorted: false)
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

    struct FieldKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: FieldKey.self) {
            var fields = OrderedDictionary<String, JSONValue>()
            for k in keyed.allKeys.map(\.stringValue).sorted() {
                fields[k] = try keyed.decode(JSONValue.self, forKey: FieldKey(stringValue: k))
            }
            self = .object(fields)
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
        } else if let i = try? single.decode(Int.self) {
            self = .integer(i)
        } else if let d = try? single.decode(Double.self) {
            self = .number(d)
        } else {
            self = .string(try single.decode(String.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .object(let fields):
            var keyed = encoder.container(keyedBy: FieldKey.self)
            for f in fields { try keyed.encode(f.value, forKey: FieldKey(stringValue: f.key)) }
        case .array(let items):
            var list = encoder.unkeyedContainer()
            for item in items { try list.encode(item) }
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .bool(let b):
            var single = encoder.singleValueContainer()
            try single.encode(b)
        case .integer(let i):
            var single = encoder.singleValueContainer()
            try single.encode(i)
        case .number(let d):
            var single = encoder.singleValueContainer()
            if d.isFinite { try single.encode(d) } else { try single.encodeNil() }
        case .string(let s):
            var single = encoder.singleValueContainer()
            try single.encode(s)
        }
    }
}

extension JSONValue: Hashable {
    /// Numbers compare by value: `.integer(15) == .number(15)`.
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.integer(let x), .integer(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.integer(let i), .number(let d)), (.number(let d), .integer(let i)): Int(exactly: d) == i
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x == y
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .integer(let i): hasher.combine(Double(i))
        case .number(let d): hasher.combine(d)
        case .string(let s): hasher.combine(s)
        case .array(let a): hasher.combine(a)
        case .object(let o): hasher.combine(o)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(elements) }
}
