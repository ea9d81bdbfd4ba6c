import Foundation

/// A JSON value whose objects keep their keys in the order written, so printed records read in
/// the documented order (Foundation's encoder on Linux orders keys arbitrarily).
enum JSON {
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
    var text: String {
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

    static func quote(_ s: String) -> String {
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

/// Prints one JSON value on a line.
func printJSON(_ value: JSON) {
    print(value.text)
}

/// Writes to standard error (progress, notes), keeping standard output for results.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
