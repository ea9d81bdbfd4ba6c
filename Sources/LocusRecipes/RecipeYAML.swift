import Foundation
import LocusCore
import Yams

/// Recipes written in YAML (`*.yaml`, `*.yml`): the same schema as JSON, read into the same
/// `JSONValue` and validated by the same `Recipe.parse`, so a field error is word for word the
/// JSON one (`methods[1].alpha: …`). YAML syntax errors, like JSON ones, name the file and line.
///
/// Scalars map by YAML's core schema as Yams resolves it: `15` an integer, `0.5` / `1.0e-4` a
/// number, `true`/`false` booleans, `null`/`~`/empty null, anything else (and anything quoted)
/// a string. Mapping keys must be strings and appear once per mapping; anchors and aliases are
/// resolved; tags other than the core ones are refused.
public enum RecipeYAML {
    /// Whether `url` names a YAML file (by its extension).
    public static func isYAML(_ url: URL) -> Bool {
        ["yaml", "yml"].contains(url.pathExtension.lowercased())
    }

    /// Parses one YAML document into a JSON value. Errors are `JSONValue.ParseError`s naming
    /// `file` and the 1-based line.
    public static func parse(_ text: String, file: String) throws -> JSONValue {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch let error as YamlError {
            throw parseError(error, text: text, file: file)
        }
        guard let node else { throw JSONValue.ParseError(file: file, line: 1, problem: "empty YAML document") }
        return try value(node, file: file)
    }

    /// Yams names the mapping of a repeated key, not the repeat: the line of the key's second
    /// `key:` from the mapping's line on (the mapping's line if not found).
    static func repeatLine(of key: String, in text: String, from start: Int) -> Int {
        var seen = 0
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where i + 1 >= start {
            var t = Substring(line.drop { $0 == " " || $0 == "-" })
            if t.hasPrefix("\"") || t.hasPrefix("'") { t = t.dropFirst() }
            guard t.hasPrefix(key) else { continue }
            let rest = t.dropFirst(key.count).drop { $0 == "\"" || $0 == "'" || $0 == " " }
            if rest.hasPrefix(":") {
                seen += 1
                if seen == 2 { return i + 1 }
            }
        }
        return start
    }

    private static func parseError(_ error: YamlError, text: String, file: String) -> JSONValue.ParseError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let where_ = context.map { " (\($0.text) at line \($0.mark.line))" } ?? ""
            return .init(file: file, line: mark.line, problem: problem + where_)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .init(
                file: file, line: repeatLine(of: duplicates.first ?? "", in: text, from: context.mark.line),
                problem: "key \(duplicates.map { "\"\($0)\"" }.joined(separator: ", ")) appears twice in one mapping")
        case .reader(let problem, _, _, _):
            return .init(file: file, line: 1, problem: problem)
        default:
            return .init(file: file, line: 1, problem: "\(error)")
        }
    }

    private static func value(_ node: Node, file: String) throws -> JSONValue {
        let line = node.mark?.line ?? 1
        func fail(_ why: String, at l: Int? = nil) -> JSONValue.ParseError {
            JSONValue.ParseError(file: file, line: l ?? line, problem: why)
        }
        switch node {
        case .scalar(let scalar):
            let text = scalar.string
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return .null
            case .bool:
                guard let b = node.bool else { throw fail("'\(text)' is not a boolean") }
                return .bool(b)
            case .int:
                if let i = Int(text.replacingOccurrences(of: "_", with: "")) { return .integer(i) }
                guard let i = node.int else { throw fail("'\(text)' is not an integer") }
                return .integer(i)
            case .float:
                if let d = Double(text.replacingOccurrences(of: "_", with: "")), d.isFinite { return .number(d) }
                throw fail("'\(text)' is not a finite number (JSON has no NaN or infinity)")
            case .str: return .string(text)
            default: throw fail("unsupported YAML tag \(node.tag) on '\(text)'")
            }
        case .sequence(let sequence):
            return .array(try sequence.map { try value($0, file: file) })
        case .mapping(let mapping):
            var fields: [(String, JSONValue)] = []
            var seen = Set<String>()
            for (k, v) in mapping {
                guard case .scalar(let key) = k, [Tag.Name.str, .int].contains(Tag.Name(rawValue: k.tag.rawValue)) else {
                    throw fail("mapping keys must be strings", at: k.mark?.line)
                }
                guard seen.insert(key.string).inserted else {
                    throw fail("key \"\(key.string)\" appears twice in one mapping", at: k.mark?.line)
                }
                fields.append((key.string, try value(v, file: file)))
            }
            return .object(fields)
        case .alias:
            throw fail("unresolved YAML alias")
        }
    }
}
