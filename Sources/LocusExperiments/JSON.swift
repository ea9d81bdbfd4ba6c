import Foundation

/// A JSON value whose objects keep their keys in the order written, so printed records read in
/// the documented order (Foundation's encoder on Linux orders keys arbitrarily).
public enum JSON: Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case float(Float)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    /// Compact serialisation. Non-finite numbers become null (JSON has no NaN or infinity);
    /// floats print in their shortest round-tripping form.
    public var text: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .float(let f): return f.isFinite ? "\(f)" : "null"
        case .double(let d): return d.isFinite ? "\(d)" : "null"
        case .string(let s): return JSON.quote(s)
        case .array(let items): return "[" + items.map(\.text).joined(separator: ",") + "]"
        case .object(let fields):
            return "{" + fields.map { JSON.quote($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
        }
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
}

extension JSON {
    /// A vector of doubles rounded to 6 decimals (records stay readable and diff cleanly).
    public static func rounded(_ v: [Double]) -> JSON { .array(v.map { .double(($0 * 1e6).rounded() / 1e6) }) }
}
