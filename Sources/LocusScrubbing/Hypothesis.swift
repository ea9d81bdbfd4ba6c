import LocusCore
import Foundation
import LocusInterventions
import LocusModel

/// A causal-scrubbing hypothesis at the level of components: the components that matter and,
/// for each, the feature of the input it depends on. Every other component of
/// `Component.all(in:)` is resampled from a random input.
///
/// JSON form (entries are read in order; a later entry overrides an earlier one for the same
/// component):
///
///     {"name": "induction",
///      "components": [
///        {"component": "embed", "feature": "input"},
///        {"component": ["L5H1", "L7H3"], "feature": "input"},
///        {"heads": "top:16:runs/ranking.json", "feature": "input"},   // any HeadSetSelection
///        {"mlps": "all", "feature": "input"},                         // or [0, 5, 9]
///        {"component": "resid_pre5@-1", "feature": "token:-1"}]}
public struct Hypothesis: Sendable, Equatable {
    public var name: String
    public var important: [Component: Feature]
    /// The order components were named in (for records).
    public var order: [Component]

    public init(name: String, important: [(Component, Feature)]) {
        self.name = name
        var map: [Component: Feature] = [:]
        var order: [Component] = []
        for (c, f) in important {
            if map[c] == nil { order.append(c) }
            map[c] = f
        }
        self.important = map
        self.order = order
    }

    /// Nothing matters: every component is resampled.
    public static let empty = Hypothesis(name: "none", important: [])

    /// Everything matters as a function of the whole input: the unchanged model.
    public static func everything(in config: ModelConfig) -> Hypothesis {
        Hypothesis(name: "all", important: Component.all(in: config).map { ($0, .input) })
    }

    public static func load(_ url: URL, config: ModelConfig) throws -> Hypothesis {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ScrubError("cannot read hypothesis \(url.path): \(error.localizedDescription)")
        }
        let root: JSONValue
        do { root = try JSONValue.parse(text, file: url.path) } catch { throw ScrubError("\(error)") }
        guard root.fields != nil else { throw ScrubError("\(url.path): expected a JSON object") }
        return try parse(root, config: config, defaultName: url.deletingPathExtension().lastPathComponent)
    }

    public static func parse(_ root: JSONValue, config: ModelConfig, defaultName: String = "hypothesis")
        throws -> Hypothesis
    {
        guard let entries = root["components"]?.array, entries.allSatisfy({ $0.fields != nil }) else {
            throw ScrubError("hypothesis needs a 'components' array of objects")
        }
        var list: [(Component, Feature)] = []
        for (i, entry) in entries.enumerated() {
            let feature = try Feature(parsing: entry["feature"]?.string ?? "input")
            var components: [Component] = []
            if let one = entry["component"]?.string {
                components.append(try Component(parsing: one))
            } else if let many = entry["component"]?.array?.compactMap(\.string), many.count == entry["component"]?.array?.count {
                components += try many.map(Component.init(parsing:))
            }
            if let heads = entry["heads"]?.string {
                components += try HeadSetSelection(parsing: heads).resolve(in: config).map(Component.head)
            }
            if let mlps = entry["mlps"]?.string, mlps == "all" {
                components += (0..<config.layerCount).map(Component.mlp)
            } else if let mlps = entry["mlps"]?.array?.compactMap(\.int), mlps.count == entry["mlps"]?.array?.count {
                components += mlps.map(Component.mlp)
            }
            guard !components.isEmpty || entry["heads"] != nil else {
                throw ScrubError("components[\(i)] names no component (component, heads or mlps)")
            }
            for c in components {
                try c.check(config: config)
                list.append((c, feature))
            }
        }
        return Hypothesis(name: root["name"]?.string ?? defaultName, important: list)
    }

    /// The record form: name and each named component with its feature.
    public var summary: [(String, String)] {
        order.map { ($0.description, important[$0]!.description) }
    }
}
