import Foundation
import LocusCore
import OrderedCollections

/// An experiment file: a grid of head sets × methods × hyperparameters × seeds (Recipes/README.md).
///
/// Recipes are plain JSON, or YAML with the same schema (`*.yaml`, `*.yml`). JSON has no comments, so every object may carry a `"comment"` field
/// (a string or an array of strings) that is ignored; any other unknown field is an error, so a
/// misspelt name never silently falls back to a default.
public struct Recipe: Equatable, Sendable {
    public enum Variant: String, Codable, Sendable, CaseIterable { case quick, full }

    public var name: String
    public var description: String
    /// Which Wang & Veitch figure the recipe regenerates (1–9), if any.
    public var figure: Int?
    /// A checkpoint path, or "default" (the CLI's default model).
    public var model: String
    public var variant: Variant
    public var seeds: [Int]
    public var data: DataSettings
    public var headSets: [HeadSetGenerator]
    public var methods: [MethodGrid]
    /// Metric groups to compute: any of `mc`, `generation`, `sideEffects`.
    public var metrics: [String]

    public static let metricGroups = ["mc", "generation", "sideEffects"]

    public init(
        name: String, description: String = "", figure: Int? = nil, model: String = "default",
        variant: Variant = .quick, seeds: [Int] = [0], data: DataSettings = .init(),
        headSets: [HeadSetGenerator] = [], methods: [MethodGrid] = [],
        metrics: [String] = Recipe.metricGroups
    ) {
        self.name = name
        self.description = description
        self.figure = figure
        self.model = model
        self.variant = variant
        self.seeds = seeds
        self.data = data
        self.headSets = headSets
        self.methods = methods
        self.metrics = metrics
    }

    /// Reads and validates a recipe file.
    public static func load(
        _ url: URL, schemas: [String: MethodSchema] = MethodSchema.builtIn
    ) throws -> Recipe {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw RecipeError(file: url.path, path: "", "cannot read the file (\(error.localizedDescription))")
        }
        // JSON, or YAML by extension (`RecipeYAML`): one schema, one validation below.
        let yaml = RecipeYAML.isYAML(url)
        let json: JSONValue
        do { json = try yaml ? RecipeYAML.parse(text, file: url.path) : JSONValue.parse(text, file: url.path) } catch {
            throw RecipeError(file: url.path, path: "", "not valid \(yaml ? "YAML" : "JSON"): \(error)")
        }
        do { return try parse(json, schemas: schemas) } catch var e as RecipeError {
            e.file = url.path
            throw e
        }
    }

    /// Validates a parsed recipe; errors name the field path.
    public static func parse(
        _ json: JSONValue, schemas: [String: MethodSchema] = MethodSchema.builtIn
    ) throws -> Recipe {
        let top = try Fields(json, path: "")
        try top.allow([
            "format", "name", "description", "figure", "model", "variant", "seeds", "data",
            "headSets", "methods", "metrics",
        ])
        if let format = try top.string("format"), format != "locus.recipe/1" {
            throw RecipeError(path: "format", "unknown format '\(format)' (this Locus reads locus.recipe/1)")
        }
        var recipe = Recipe(name: try top.requiredString("name"))
        guard !recipe.name.isEmpty else { throw RecipeError(path: "name", "must not be empty") }
        // The name becomes a file name (runs/sweeps/<name>.jsonl): no path separators or "..".
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard recipe.name.allSatisfy(allowed.contains), !recipe.name.hasPrefix(".") else {
            throw RecipeError(
                path: "name",
                "'\(recipe.name)' is not a plain file name: use letters, digits, '.', '_' and '-' (no '/' or '..')")
        }
        recipe.description = try top.string("description") ?? ""
        recipe.figure = try top.integer("figure")
        if let f = recipe.figure, !(1...9).contains(f) {
            throw RecipeError(path: "figure", "expected a Wang & Veitch figure number 1–9")
        }
        recipe.model = try top.string("model") ?? "default"
        if let v = try top.string("variant") {
            guard let variant = Variant(rawValue: v) else {
                throw RecipeError(path: "variant", "expected \"quick\" or \"full\", got \"\(v)\"")
            }
            recipe.variant = variant
        }
        if let seeds = top["seeds"] {
            recipe.seeds = try integers(seeds, path: "seeds")
            guard !recipe.seeds.isEmpty else { throw RecipeError(path: "seeds", "needs at least one seed") }
            for (i, seed) in recipe.seeds.enumerated() where seed < 0 {
                throw RecipeError(path: "seeds[\(i)]", "must be ≥ 0, got \(seed)")
            }
        }
        if let data = top["data"] { recipe.data = try DataSettings.parse(data, path: "data") }
        if let sets = top["headSets"] {
            guard let items = sets.array else { throw RecipeError(path: "headSets", "expected an array") }
            recipe.headSets = try items.enumerated().map {
                try HeadSetGenerator.parse($1, path: "headSets[\($0)]")
            }
            var seen = Set<String>()
            for (i, g) in recipe.headSets.enumerated() where !seen.insert(g.name).inserted {
                throw RecipeError(
                    path: "headSets[\(i)].name",
                    "another head set is already called '\(g.name)'; give each a distinct \"name\"")
            }
        }
        guard let methods = top["methods"] else { throw RecipeError(path: "methods", "required field is missing") }
        guard let items = methods.array, !items.isEmpty else {
            throw RecipeError(path: "methods", "expected a non-empty array of methods")
        }
        recipe.methods = try items.enumerated().map {
            try MethodGrid.parse($1, path: "methods[\($0)]", schemas: schemas)
        }
        let names = Set(recipe.headSets.map(\.name))
        for (i, m) in recipe.methods.enumerated() {
            let schema = schemas[m.kind]!
            if schema.usesHeadSets && recipe.headSets.isEmpty {
                throw RecipeError(path: "methods[\(i)]", "method '\(m.kind)' needs head sets, and headSets is empty")
            }
            for (j, n) in (m.headSets ?? []).enumerated() where !names.contains(n) {
                throw RecipeError(
                    path: "methods[\(i)].headSets[\(j)]",
                    "no head set named '\(n)' (have: \(recipe.headSets.map(\.name).joined(separator: ", ")))")
            }
        }
        if let metrics = top["metrics"] {
            recipe.metrics = try strings(metrics, path: "metrics")
            for (i, m) in recipe.metrics.enumerated() where !metricGroups.contains(m) {
                throw RecipeError(
                    path: "metrics[\(i)]", "unknown metric group '\(m)' (known: \(metricGroups.joined(separator: ", ")))")
            }
        }
        return recipe
    }
}

/// Data settings shared by every run of a recipe (0 means "all").
public struct DataSettings: Codable, Hashable, Sendable {
    /// Seed of the question-level split (IPO's 60/20/20; probe folds come from the ranking file).
    public var splitSeed: Int = 0
    /// Held-out questions evaluated per run (0 = all held-out questions).
    public var questions: Int = 0
    /// Preference pairs used to train IPO/DPO (seeded sample; 0 = all).
    public var trainPairs: Int = 0
    /// Preference pairs for IPO/DPO validation (0 = all).
    public var validationPairs: Int = 0
    /// Side-effect sample: documents × tokens of wikitext-2 (METHODS §4: 100 × 128).
    public var sideEffectDocuments: Int = 100
    public var sideEffectTokens: Int = 128
    /// Greedy generation length.
    public var maxNewTokens: Int = 50
    /// Judge checkpoints scoring the generations (AllenAI's truthfulqa-truth-judge-llama2-7B and
    /// truthfulqa-info-judge-llama2-7B, as GGUF or HF directories): both or neither. Without
    /// them, truth and info are the offline substitutes.
    public var truthJudge: String? = nil
    public var infoJudge: String? = nil

    public init() {}

    static let keys = [
        "splitSeed", "questions", "trainPairs", "validationPairs", "sideEffectDocuments",
        "sideEffectTokens", "maxNewTokens", "truthJudge", "infoJudge",
    ]

    static func parse(_ json: JSONValue, path: String) throws -> DataSettings {
        let f = try Fields(json, path: path)
        try f.allow(keys)
        var d = DataSettings()
        func get(_ key: String, _ value: inout Int) throws {
            if let v = try f.integer(key) {
                guard v >= 0 else { throw RecipeError(path: f.path(key), "must be ≥ 0") }
                value = v
            }
        }
        try get("splitSeed", &d.splitSeed)
        try get("questions", &d.questions)
        try get("trainPairs", &d.trainPairs)
        try get("validationPairs", &d.validationPairs)
        try get("sideEffectDocuments", &d.sideEffectDocuments)
        try get("sideEffectTokens", &d.sideEffectTokens)
        try get("maxNewTokens", &d.maxNewTokens)
        d.truthJudge = try f.string("truthJudge")
        d.infoJudge = try f.string("infoJudge")
        if (d.truthJudge == nil) != (d.infoJudge == nil) {
            // The path names the missing key.
            throw RecipeError(
                path: f.path(d.truthJudge == nil ? "truthJudge" : "infoJudge"),
                "missing: truthJudge and infoJudge go together (True×Info needs both judges)")
        }
        // 0 means "all" for the counts above, but not for these: a side-effect sample without
        // documents or next-token pairs, or generation without tokens, measures nothing.
        for (key, value, least) in [
            ("sideEffectDocuments", d.sideEffectDocuments, 1), ("sideEffectTokens", d.sideEffectTokens, 2),
            ("maxNewTokens", d.maxNewTokens, 1),
        ] where value < least {
            throw RecipeError(path: f.path(key), "must be at least \(least), got \(value)")
        }
        return d
    }

    /// The judges appear only when set, so recipes without them keep their run IDs.
    public var json: JSONValue {
        var fields: OrderedDictionary<String, JSONValue> = [
            "splitSeed": .number(Double(splitSeed)), "questions": .number(Double(questions)),
            "trainPairs": .number(Double(trainPairs)), "validationPairs": .number(Double(validationPairs)),
            "sideEffectDocuments": .number(Double(sideEffectDocuments)),
            "sideEffectTokens": .number(Double(sideEffectTokens)),
            "maxNewTokens": .number(Double(maxNewTokens)),
        ]
        if let truthJudge, let infoJudge {
            fields["truthJudge"] = .string(truthJudge)
            fields["infoJudge"] = .string(infoJudge)
        }
        return .object(fields)
    }
}

/// One entry of `headSets`: how a family of head sets is generated.
public enum HeadSetGenerator: Equatable, Sendable {
    /// The first k heads of a probe ranking file (and, per fold, each fold's own first k).
    case top(name: String, k: Int, ranking: String)
    /// `count` sets of k distinct heads drawn uniformly (set i uses seed `seed·1000 + i`).
    case random(name: String, k: Int, count: Int, seed: Int)
    /// `count` distinct single heads drawn uniformly without replacement.
    case randomSingle(name: String, count: Int, seed: Int)
    /// Every head of the model.
    case all(name: String)
    /// A fixed list such as ["L12H3", "L5H0"].
    case explicit(name: String, heads: [String])

    public var name: String {
        switch self {
        case .top(let n, _, _), .random(let n, _, _, _), .randomSingle(let n, _, _), .all(let n),
            .explicit(let n, _):
            n
        }
    }

    public var kind: String {
        switch self {
        case .top: "top"
        case .random: "random"
        case .randomSingle: "randomSingle"
        case .all: "all"
        case .explicit: "explicit"
        }
    }

    /// Most random sets one generator may draw (checked at load, before anything is allocated:
    /// a typo such as 1000000000 must not allocate the sets).
    public static let maximumHeadSets = 10_000
    /// Most heads a set may hold (more than any model Locus loads; the model's own count is
    /// checked when the recipe is expanded).
    public static let maximumHeads = 65_536

    static func parse(_ json: JSONValue, path: String) throws -> HeadSetGenerator {
        let f = try Fields(json, path: path)
        let kind = try f.requiredString("kind")
        let name = try f.string("name") ?? kind
        func positive(_ key: String, atMost limit: Int = Int.max) throws -> Int {
            guard let v = try f.integer(key) else { throw RecipeError(path: f.path(key), "required field is missing") }
            guard v >= 1 else { throw RecipeError(path: f.path(key), "must be at least 1, got \(v)") }
            guard v <= limit else { throw RecipeError(path: f.path(key), "must be at most \(limit), got \(v)") }
            return v
        }
        func seed() throws -> Int {
            let v = try f.integer("seed") ?? 0
            guard v >= 0 else { throw RecipeError(path: f.path("seed"), "must be ≥ 0, got \(v)") }
            return v
        }
        switch kind {
        case "top":
            try f.allow(["kind", "name", "k", "ranking"])
            return .top(name: name, k: try positive("k", atMost: maximumHeads), ranking: try f.requiredString("ranking"))
        case "random":
            try f.allow(["kind", "name", "k", "count", "seed"])
            return .random(
                name: name, k: try positive("k", atMost: maximumHeads),
                count: try positive("count", atMost: maximumHeadSets), seed: try seed())
        case "randomSingle":
            try f.allow(["kind", "name", "count", "seed"])
            return .randomSingle(name: name, count: try positive("count", atMost: maximumHeads), seed: try seed())
        case "all":
            try f.allow(["kind", "name"])
            return .all(name: name)
        case "explicit":
            try f.allow(["kind", "name", "heads"])
            guard let raw = f["heads"] else { throw RecipeError(path: f.path("heads"), "required field is missing") }
            let heads = try strings(raw, path: f.path("heads"))
            for (i, h) in heads.enumerated() where AttentionHead(h) == nil {
                throw RecipeError(path: f.path("heads") + "[\(i)]", "'\(h)' is not a head name like L12H3")
            }
            guard !heads.isEmpty else { throw RecipeError(path: f.path("heads"), "needs at least one head") }
            return .explicit(name: name, heads: heads)
        default:
            throw RecipeError(
                path: f.path("kind"), "unknown head-set kind '\(kind)' (known: top, random, randomSingle, all, explicit)")
        }
    }
}

/// One entry of `methods`: a method kind with its parameters; array-valued grid parameters
/// expand into one run per combination.
public struct MethodGrid: Equatable, Sendable {
    public var kind: String
    /// A label for reports (default: the kind).
    public var name: String
    /// Parameters in recipe order, defaults filled in; grid axes hold arrays.
    public var parameters: OrderedDictionary<String, JSONValue>
    /// Names of the head sets this method runs on (nil: all).
    public var headSets: [String]?

    static func parse(_ json: JSONValue, path: String, schemas: [String: MethodSchema]) throws -> MethodGrid {
        let f = try Fields(json, path: path)
        let kind = try f.requiredString("kind")
        guard let schema = schemas[kind] else {
            throw RecipeError(
                path: f.path("kind"), "unknown method '\(kind)' (known: \(schemas.keys.sorted().joined(separator: ", ")))")
        }
        let reserved = ["kind", "name", "headSets", "comment"]
        var grid = MethodGrid(kind: kind, name: try f.string("name") ?? kind, parameters: [:], headSets: nil)
        if let hs = f["headSets"] { grid.headSets = try strings(hs, path: f.path("headSets")) }
        if !schema.open {
            try f.allow(reserved + schema.parameters.map(\.name))
        }
        if schema.open {
            for field in f.fields where !reserved.contains(field.key) {
                if let a = field.value.array, a.isEmpty {
                    throw RecipeError(path: f.path(field.key), "a grid axis needs at least one value")
                }
                grid.parameters[field.key] = field.value
            }
            return grid
        }
        for p in schema.parameters {
            let key = f.path(p.name)
            guard let v = f[p.name] else {
                if p.required { throw RecipeError(path: key, "required field is missing") }
                if let d = p.defaultValue { grid.parameters[p.name] = d }
                continue
            }
            if p.grid {
                guard let items = v.array, items.allSatisfy(p.type.accepts) else {
                    throw RecipeError(path: key, "expected an array of \(p.type.plural)")
                }
                guard !items.isEmpty else { throw RecipeError(path: key, "a grid axis needs at least one value") }
                for (i, item) in items.enumerated() where p.type == .number && item.number! < 0 && p.name != "alpha" {
                    throw RecipeError(path: key + "[\(i)]", "must not be negative")
                }
                for (i, item) in items.enumerated() {
                    if let problem = p.rangeProblem(item) { throw RecipeError(path: key + "[\(i)]", problem) }
                }
            } else if !p.type.accepts(v) {
                throw RecipeError(path: key, "expected \(p.type.noun)")
            } else if let problem = p.rangeProblem(v) {
                throw RecipeError(path: key, problem)
            }
            grid.parameters[p.name] = v
        }
        if let items = schema.itemAxis {  // not a schema parameter: `allow` rejects it in a recipe
            let count = grid.parameters[items.countParameter]?.int ?? 0
            grid.parameters[items.axis] = .array((0..<count).map { .number(Double($0)) })
        }
        return grid
    }

    /// Every combination of the grid axes (the first axis varies slowest), as parameter objects.
    public func settings() -> [JSONValue] {
        var combos: [[(String, JSONValue)]] = [[]]
        for p in parameters {
            let values = p.value.array ?? [p.value]
            combos = combos.flatMap { c in values.map { c + [(p.key, $0)] } }
        }
        return combos.map { .object($0) }
    }

    /// Names of the grid axes (array-valued parameters).
    public var axes: [String] { parameters.filter { $0.value.array != nil }.map(\.key) }
}

// MARK: field access with paths

/// An object's fields with typed getters whose errors name the field path.
struct Fields {
    let fields: OrderedDictionary<String, JSONValue>
    let base: String

    init(_ json: JSONValue, path: String) throws {
        guard let fields = json.fields else { throw RecipeError(path: path, "expected an object") }
        self.fields = fields
        base = path
    }

    func path(_ key: String) -> String { base.isEmpty ? key : base + "." + key }

    subscript(key: String) -> JSONValue? { fields[key] }

    /// Rejects unknown fields (`comment` is always allowed); a repeated key is a parse error.
    func allow(_ keys: [String]) throws {
        for f in fields {
            if f.key == "comment" {
                guard f.value.string != nil || (f.value.array?.allSatisfy { $0.string != nil } ?? false) else {
                    throw RecipeError(path: path("comment"), "expected a string or an array of strings")
                }
                continue
            }
            guard keys.contains(f.key) else {
                throw RecipeError(path: path(f.key), "unknown field (allowed: \(keys.joined(separator: ", ")), comment)")
            }
        }
    }

    func string(_ key: String) throws -> String? {
        guard let v = self[key] else { return nil }
        guard let s = v.string else { throw RecipeError(path: path(key), "expected a string") }
        return s
    }

    func requiredString(_ key: String) throws -> String {
        guard let s = try string(key) else { throw RecipeError(path: path(key), "required field is missing") }
        return s
    }

    func integer(_ key: String) throws -> Int? {
        guard let v = self[key] else { return nil }
        guard let i = v.int else { throw RecipeError(path: path(key), "expected an integer") }
        return i
    }
}

func integers(_ json: JSONValue, path: String) throws -> [Int] {
    guard let items = json.array, items.allSatisfy({ $0.int != nil }) else {
        throw RecipeError(path: path, "expected an array of integers")
    }
    return items.map { $0.int! }
}

func strings(_ json: JSONValue, path: String) throws -> [String] {
    guard let items = json.array, items.allSatisfy({ $0.string != nil }) else {
        throw RecipeError(path: path, "expected an array of strings")
    }
    return items.map { $0.string! }
}
