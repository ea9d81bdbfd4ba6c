import Foundation
import LocusCore
import LocusTensor

/// Reads the head ranking of a probe file: `heads` (rank order, best first) and, if present,
/// each fold's own ranking `folds[i].heads`; each head is `{"layer": l, "head": h, …}`.
public struct RankingHeads: Sendable, Equatable {
    public var heads: [String]
    public var folds: [[String]]

    public init(heads: [String], folds: [[String]] = []) {
        self.heads = heads
        self.folds = folds
    }

    public static func load(_ path: String) throws -> RankingHeads {
        let url = URL(fileURLWithPath: path)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw RecipeError(
                path: "", "ranking file \(path) does not exist: make it first with `locus probe --output \(path)`")
        }
        let json = try JSONValue.parse(try String(contentsOf: url, encoding: .utf8), file: path)
        func list(_ v: JSONValue?) -> [String]? {
            v?.array?.compactMap { h in
                guard let l = h["layer"]?.int, let hh = h["head"]?.int else { return nil }
                return AttentionHead(layer: l, head: hh).description
            }
        }
        guard let heads = list(json["heads"]), !heads.isEmpty else {
            throw RecipeError(path: "", "\(path) has no \"heads\" array of {layer, head}")
        }
        return RankingHeads(heads: heads, folds: json["folds"]?.array?.compactMap { list($0["heads"]) } ?? [])
    }
}

/// Expands a recipe into its runs.
public enum RecipeExpansion {
    /// Most runs one recipe may expand to.
    public static let maximumRuns = 1_000_000

    /// Every run of `recipe`, in recipe order (method, head-set generator, set, setting, seed),
    /// duplicates (same ID) dropped. `rankings` loads probe files (by default from disk).
    public static func runs(
        _ recipe: Recipe, shape: ModelShape,
        rankings: (String) throws -> RankingHeads = RankingHeads.load
    ) throws -> [RunSpec] {
        var sets: [String: [HeadSet]] = [:]
        for (i, g) in recipe.headSets.enumerated() {
            do {
                sets[g.name] = try headSets(g, shape: shape, rankings: rankings)
            } catch var e as RecipeError {
                e.path = "headSets[\(i)]" + (e.path.isEmpty ? "" : "." + e.path)
                throw e
            }
        }
        // Count before building: a grid that multiplies to millions of runs is an error, not an
        // allocation.
        var planned = 0
        for (mi, m) in recipe.methods.enumerated() {
            let schema = MethodSchema.builtIn[m.kind] ?? .openKind(m.kind)
            let setCount =
                schema.usesHeadSets || m.headSets != nil
                ? (m.headSets ?? recipe.headSets.map(\.name)).reduce(0) { $0 + (sets[$1]?.count ?? 0) } : 1
            let settingCount = m.parameters.reduce(1) { n, p in n.multipliedReportingOverflow(by: max(1, p.value.array?.count ?? 1)).partialValue }
            let (a, o1) = setCount.multipliedReportingOverflow(by: settingCount)
            let (b, o2) = a.multipliedReportingOverflow(by: recipe.seeds.count)
            let (c, o3) = planned.addingReportingOverflow(b)
            guard !(o1 || o2 || o3), c <= maximumRuns else {
                throw RecipeError(
                    path: "methods[\(mi)]",
                    "the recipe expands to more than \(maximumRuns) runs (head sets × grid values × seeds)")
            }
            planned = c
        }
        var runs: [RunSpec] = []
        var seen = Set<String>()
        for (mi, m) in recipe.methods.enumerated() {
            let schema = MethodSchema.builtIn[m.kind] ?? .openKind(m.kind)
            let pairedSets: [HeadSet?]
            if schema.usesHeadSets || m.headSets != nil {
                let names = m.headSets ?? recipe.headSets.map(\.name)
                pairedSets = names.flatMap { sets[$0] ?? [] }
            } else {
                pairedSets = [nil]
            }
            guard !pairedSets.isEmpty else {
                throw RecipeError(path: "methods[\(mi)]", "no head sets to run on")
            }
            let settings = m.settings()
            for set in pairedSets {
                for setting in settings {
                    for seed in recipe.seeds {
                        let spec = RunSpec(
                            recipe: recipe.name, variant: recipe.variant.rawValue, model: recipe.model,
                            data: recipe.data, method: m.kind, methodName: m.name, parameters: setting,
                            headSet: set, metrics: recipe.metrics, seed: seed)
                        if seen.insert(spec.runID).inserted { runs.append(spec) }
                    }
                }
            }
        }
        return runs
    }

    /// The concrete sets of one generator.
    public static func headSets(
        _ g: HeadSetGenerator, shape: ModelShape, rankings: (String) throws -> RankingHeads
    ) throws -> [HeadSet] {
        func check(_ heads: [String], path: String) throws {
            for h in heads {
                guard let head = AttentionHead(h), shape.contains(head) else {
                    throw RecipeError(
                        path: path, "\(h) is not a head of this model (\(shape.layerCount) layers × \(shape.headCount) heads)")
                }
            }
            guard Set(heads.compactMap(AttentionHead.init)).count == heads.count else {
                throw RecipeError(path: path, "duplicate heads")
            }
        }
        switch g {
        case .top(let name, let k, let file):
            let r: RankingHeads
            do { r = try rankings(file) } catch var e as RecipeError {
                e.path = "ranking"
                throw e
            }
            guard r.heads.count >= k else {
                throw RecipeError(path: "k", "\(file) ranks only \(r.heads.count) heads, asked for \(k)")
            }
            let heads = Self.sortedNames(Array(r.heads.prefix(k)))
            try check(heads, path: "ranking")
            let perFold = r.folds.isEmpty ? nil : r.folds.map { Self.sortedNames(Array($0.prefix(k))) }
            return [HeadSet(name: name, kind: "top", index: 0, selection: "top:\(k):\(file)", heads: heads, perFold: perFold)]
        case .random(let name, let k, let count, let seed):
            guard k <= shape.totalHeads else {
                throw RecipeError(path: "k", "asked for \(k) heads of \(shape.totalHeads)")
            }
            return (0..<count).map { i in
                let setSeed = UInt64(seed) &* 1000 &+ UInt64(i)
                return HeadSet(
                    name: name, kind: "random", index: i, selection: "random:\(k):\(setSeed)",
                    heads: randomHeads(k, shape: shape, seed: setSeed))
            }
        case .randomSingle(let name, let count, let seed):
            guard count <= shape.totalHeads else {
                throw RecipeError(path: "count", "asked for \(count) distinct heads of \(shape.totalHeads)")
            }
            let order = randomHeads(count, shape: shape, seed: UInt64(seed), keepOrder: true)
            return order.enumerated().map { i, h in
                HeadSet(name: name, kind: "randomSingle", index: i, selection: h, heads: [h])
            }
        case .all(let name):
            let heads = (0..<shape.layerCount).flatMap { l in
                (0..<shape.headCount).map { AttentionHead(layer: l, head: $0).description }
            }
            return [HeadSet(name: name, kind: "all", index: 0, selection: "all", heads: heads)]
        case .explicit(let name, let list):
            try check(list, path: "heads")
            let heads = Self.sortedNames(list)
            return [HeadSet(name: name, kind: "explicit", index: 0, selection: heads.joined(separator: ","), heads: heads)]
        }
    }

    /// Head names (`L12H3`, either case) in their printed form, sorted by (layer, head); a name
    /// that does not parse sorts last, unchanged (`check` reports it).
    static func sortedNames(_ names: [String]) -> [String] {
        let parsed = names.map { (AttentionHead($0), $0) }
        return parsed.sorted { ($0.0 ?? AttentionHead(layer: .max, head: .max)) < ($1.0 ?? AttentionHead(layer: .max, head: .max)) }
            .map { $0.0?.description ?? $0.1 }
    }

    /// k distinct heads by `HeadSetSelection.randomHeads` (the one seeded draw, the same as
    /// `locus steer --heads random:K:SEED`), so a set is reproducible from its `selection`.
    public static func randomHeads(_ k: Int, shape: ModelShape, seed: UInt64, keepOrder: Bool = false) -> [String] {
        HeadSetSelection.randomHeads(k, in: shape, seed: seed, keepOrder: keepOrder).map(\.description)
    }
}

/// `--shard i/n`: run i of n disjoint parts (0 ≤ i < n), by run-ID hash modulo n.
public struct Shard: Equatable, Sendable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        precondition(count >= 1 && index >= 0 && index < count)
        self.index = index
        self.count = count
    }

    public static let whole = Shard(index: 0, count: 1)

    /// Parses `i/n`.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 0, i < n else {
            return nil
        }
        self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// Whether this shard owns the run: the run ID's first 15 hex digits modulo n.
    public func contains(_ runID: String) -> Bool {
        guard count > 1 else { return true }
        let value = UInt64(runID.prefix(15), radix: 16) ?? 0
        return Int(value % UInt64(count)) == index
    }
}
