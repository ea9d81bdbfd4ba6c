import Foundation
import LocusCore
import LocusData

/// A concrete head set of one run: the explicit list and how it was generated.
public struct HeadSet: Codable, Hashable, Sendable {
    /// The generator's name in the recipe (e.g. "top", "random").
    public var name: String
    /// top | random | randomSingle | all | explicit.
    public var kind: String
    /// Index of this set within its generator (random set #i).
    public var index: Int
    /// A reproducible printed form, as `locus steer --heads` reads it: `random:16:3`,
    /// `top:16:runs/probe.json`, `all`, or the list itself.
    public var selection: String
    /// The heads, sorted by (layer, head).
    public var heads: [String]
    /// For top sets of a ranking with folds: each fold's own top-k, so ITI evaluates every fold's
    /// held-out questions with heads chosen without them.
    public var perFold: [[String]]?

    public init(
        name: String, kind: String, index: Int, selection: String, heads: [String], perFold: [[String]]? = nil
    ) {
        self.name = name
        self.kind = kind
        self.index = index
        self.selection = selection
        self.heads = heads
        self.perFold = perFold
    }

    public var json: JSONValue {
        var f: [(String, JSONValue)] = [
            ("name", .string(name)), ("kind", .string(kind)), ("index", .number(Double(index))),
            ("selection", .string(selection)), ("size", .number(Double(heads.count))),
            ("heads", .array(heads.map(JSONValue.string))),
        ]
        if let perFold { f.append(("perFold", .array(perFold.map { .array($0.map(JSONValue.string)) }))) }
        return .object(f)
    }

    init(json: JSONValue) throws {
        guard let name = json["name"]?.string, let kind = json["kind"]?.string, let index = json["index"]?.int,
            let selection = json["selection"]?.string, let heads = json["heads"]?.array?.compactMap(\.string)
        else { throw RecipeError(path: "spec.headSet", "malformed head set") }
        self.init(
            name: name, kind: kind, index: index, selection: selection, heads: heads,
            perFold: json["perFold"]?.array?.map { $0.array?.compactMap(\.string) ?? [] })
    }
}

/// One fully specified run of a sweep: method with one hyperparameter setting, head set, seed,
/// data and metrics. `runID` is the first 16 hex digits of the SHA-256 of `canonicalText`, so
/// the same recipe always expands to the same IDs (labels that do not change what is computed —
/// recipe name, variant, method label, head-set label — are left out of the hash).
public struct RunSpec: Codable, Hashable, Sendable {
    public var runID: String
    public var recipe: String
    public var variant: String
    public var model: String
    public var data: DataSettings
    /// Method kind (iti, ipo, …) and its label in the recipe.
    public var method: String
    public var methodName: String
    /// One setting: every parameter a scalar.
    public var parameters: JSONValue
    public var headSet: HeadSet?
    public var metrics: [String]
    public var seed: Int

    public init(
        recipe: String, variant: String, model: String, data: DataSettings, method: String,
        methodName: String, parameters: JSONValue, headSet: HeadSet?, metrics: [String], seed: Int
    ) {
        self.runID = ""
        self.recipe = recipe
        self.variant = variant
        self.model = model
        self.data = data
        self.method = method
        self.methodName = methodName
        self.parameters = parameters
        self.headSet = headSet
        self.metrics = metrics
        self.seed = seed
        runID = Self.id(of: self)
    }

    /// What the run computes, keys sorted: the hashed identity.
    public var canonicalText: String {
        var identity: [(String, JSONValue)] = [
            ("model", .string(model)), ("data", data.json), ("method", .string(method)),
            ("parameters", parameters), ("metrics", .array(metrics.map(JSONValue.string))),
            ("seed", .number(Double(seed))),
        ]
        if let headSet {
            identity.append(("headSet", headSet.json.removing(["name"])))
        }
        return JSONValue.object(identity).canonicalText
    }

    /// `canonicalText` without the metric groups: runs with equal texts compute the same numbers
    /// for the groups they share (a run with more groups covers one with fewer).
    public var computationText: String {
        var identity: [(String, JSONValue)] = [
            ("model", .string(model)), ("data", data.json), ("method", .string(method)),
            ("parameters", parameters), ("seed", .number(Double(seed))),
        ]
        if let headSet {
            identity.append(("headSet", headSet.json.removing(["name"])))
        }
        return JSONValue.object(identity).canonicalText
    }

    static func id(of spec: RunSpec) -> String { String(SHA256.hex(Data(spec.canonicalText.utf8)).prefix(16)) }

    /// A parameter's value.
    public func parameter(_ key: String) -> JSONValue? { parameters[key] }
    public func number(_ key: String) -> Double? { parameters[key]?.number }
    public func string(_ key: String) -> String? { parameters[key]?.string }

    /// A short label for progress lines: `iti alpha=15 · random#3 (16 heads) · seed 0`.
    public var label: String {
        // An analysis's fact index first (the one thing its runs differ in).
        let fields = (parameters.fields ?? [:]).sorted { ($0.key == "fact" ? 0 : 1) < ($1.key == "fact" ? 0 : 1) }
        let params = fields.filter { $0.value.string == nil || ["direction", "ablation"].contains($0.key) }
            .prefix(3).map { "\($0.key)=\($0.value.text)" }.joined(separator: " ")
        var s = methodName + (params.isEmpty ? "" : " " + params)
        if let h = headSet {
            s += " · \(h.name)" + (h.kind == "random" || h.kind == "randomSingle" ? "#\(h.index)" : "")
                + " (\(h.heads.count == 1 ? h.heads[0] : "\(h.heads.count) heads"))"
        }
        return s + " · seed \(seed)"
    }

    public var json: JSONValue {
        var f: [(String, JSONValue)] = [
            ("runID", .string(runID)), ("recipe", .string(recipe)), ("variant", .string(variant)),
            ("model", .string(model)), ("method", .string(method)),
            ("methodName", .string(methodName)), ("parameters", parameters),
        ]
        if let headSet { f.append(("headSet", headSet.json)) }
        f += [
            ("seed", .number(Double(seed))), ("data", data.json),
            ("metrics", .array(metrics.map(JSONValue.string))),
        ]
        return .object(f)
    }

    public init(json: JSONValue) throws {
        guard let recipe = json["recipe"]?.string, let variant = json["variant"]?.string,
            let model = json["model"]?.string, let method = json["method"]?.string,
            let methodName = json["methodName"]?.string, let parameters = json["parameters"],
            let seed = json["seed"]?.int, let data = json["data"],
            let metrics = json["metrics"]?.array?.compactMap(\.string)
        else { throw RecipeError(path: "spec", "malformed run specification") }
        self.init(
            recipe: recipe, variant: variant, model: model, data: try DataSettings.parse(data, path: "spec.data"),
            method: method, methodName: methodName, parameters: parameters,
            headSet: try json["headSet"].map(HeadSet.init(json:)), metrics: metrics, seed: seed)
        // A record keeps the ID it was run under, even if a later Locus would hash it differently.
        if let stored = json["runID"]?.string { runID = stored }
    }
}
