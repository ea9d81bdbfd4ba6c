import Foundation
import LocusCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which shard runs which run, chosen by estimated cost so that shards finish together
/// (`locus slurm submit` writes it as `plan.json`; `locus run --plan FILE --shard i/n` reads it).
///
/// Balancing is greedy longest-processing-time: units (a run, or a group of runs one process
/// computes once — `RunCostModel.sharedComputationKey`) are taken in decreasing estimated cost
/// (ties: lowest run ID) and each goes to the shard with the least estimated time so far (ties:
/// lowest index). The result depends only on the runs and the shard count. LPT is within
/// 4/3 of the best possible longest shard (Graham 1969).
public struct ShardPlan: Sendable, Equatable {
    public static let format = "locus.shard-plan/1"

    public struct Entry: Sendable, Equatable {
        public var runID: String
        public var shard: Int
        /// Estimated single-thread seconds (for α = 0 copies: the overhead only).
        public var seconds: Double
        public var label: String
        public var method: String
    }

    public var recipe: String
    public var shardCount: Int
    /// In recipe order.
    public var entries: [Entry]
    private var index: [String: Int]

    public init(recipe: String, shardCount: Int, entries: [Entry]) {
        self.recipe = recipe
        self.shardCount = shardCount
        self.entries = entries
        index = Dictionary(entries.enumerated().map { ($1.runID, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public static func == (a: ShardPlan, b: ShardPlan) -> Bool {
        a.recipe == b.recipe && a.shardCount == b.shardCount && a.entries == b.entries
    }

    /// The cost-balanced plan of `runs` (recipe order) over `shards` shards.
    public static func balanced(
        _ runs: [RunSpec], recipe: String, shards: Int, costs: RunCostModel = .measured
    ) -> ShardPlan {
        precondition(shards >= 1)
        // Units: groups of runs computed once per process, else single runs.
        var unitOf: [String: Int] = [:]
        var units: [(members: [Int], seconds: Double, firstID: String)] = []
        var seconds = runs.map { costs.seconds($0) }
        for (i, run) in runs.enumerated() {
            if let key = RunCostModel.sharedComputationKey(run), let u = unitOf[key] {
                seconds[i] = costs.overhead  // copied from the group's first run
                units[u].members.append(i)
                units[u].seconds += seconds[i]
                units[u].firstID = min(units[u].firstID, run.runID)
            } else {
                if let key = RunCostModel.sharedComputationKey(run) { unitOf[key] = units.count }
                units.append(([i], seconds[i], run.runID))
            }
        }
        let unitShard = longestProcessingTimeAssignment(costs: units.map(\.seconds), bins: shards) {
            units[$0].firstID < units[$1].firstID
        }
        var shardOf = [Int](repeating: 0, count: runs.count)
        for (u, unit) in units.enumerated() { for i in unit.members { shardOf[i] = unitShard[u] } }
        let entries = runs.enumerated().map { i, r in
            Entry(runID: r.runID, shard: shardOf[i], seconds: seconds[i], label: r.label, method: r.method)
        }
        return ShardPlan(recipe: recipe, shardCount: shards, entries: entries)
    }

    /// The shard of a run, or nil if the plan does not have it.
    public func shard(of runID: String) -> Int? { index[runID].map { entries[$0].shard } }

    public func entries(inShard s: Int) -> [Entry] { entries.filter { $0.shard == s } }

    /// Estimated single-thread hours per shard.
    public var estimatedHours: [Double] {
        var h = [Double](repeating: 0, count: shardCount)
        for e in entries { h[e.shard] += e.seconds / 3600 }
        return h
    }

    /// A readable plan: one line per shard, then the runs of each shard.
    public func text(listRuns: Bool = true) -> String {
        var lines = ["plan for \(recipe): \(entries.count) runs over \(shardCount) shards, balanced by estimated cost (RunCostModel.measured: single-thread seconds from BENCHMARKS.md)"]
        let hours = estimatedHours
        for s in 0..<shardCount {
            let mine = entries(inShard: s)
            let methods = Dictionary(grouping: mine, by: \.method).map { "\($0.value.count) \($0.key)" }.sorted()
            lines.append(String(format: "shard %d: %d runs (%@), estimated %.2f h", s, mine.count,
                                methods.joined(separator: ", "), hours[s]))
        }
        if listRuns {
            for s in 0..<shardCount {
                lines.append("")
                lines.append("shard \(s):")
                for e in entries(inShard: s) {
                    lines.append(String(format: "  %@  %8.0f s  %@", e.runID, e.seconds, e.label))
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    public var json: JSONValue {
        let runs: [JSONValue] = entries.map { e in
            .object([
                ("runID", .string(e.runID)), ("shard", .int(e.shard)),
                ("seconds", .number(e.seconds.rounded())), ("method", .string(e.method)),
                ("label", .string(e.label)),
            ])
        }
        let hours: [JSONValue] = estimatedHours.map { .number(($0 * 1000).rounded() / 1000) }
        return .object([
            ("format", .string(Self.format)), ("recipe", .string(recipe)),
            ("shards", .int(shardCount)),
            ("estimatedHours", .array(hours)),
            ("costModel", .string("RunCostModel.measured (single-thread seconds, BENCHMARKS.md issue 5)")),
            ("runs", .array(runs)),
        ])
    }

    public init(json: JSONValue, file: String) throws {
        guard json["format"]?.string == Self.format else {
            throw RecipeError(file: file, path: "format", "expected \"\(Self.format)\"")
        }
        guard let recipe = json["recipe"]?.string else { throw RecipeError(file: file, path: "recipe", "missing") }
        guard let n = json["shards"]?.int, n >= 1 else {
            throw RecipeError(file: file, path: "shards", "expected an integer ≥ 1")
        }
        guard let runs = json["runs"]?.array else { throw RecipeError(file: file, path: "runs", "expected an array") }
        var entries: [Entry] = []
        for (i, r) in runs.enumerated() {
            guard let id = r["runID"]?.string, let s = r["shard"]?.int, (0..<n).contains(s) else {
                throw RecipeError(file: file, path: "runs[\(i)]", "needs runID and a shard in 0..<\(n)")
            }
            entries.append(Entry(
                runID: id, shard: s, seconds: r["seconds"]?.number ?? 0, label: r["label"]?.string ?? "",
                method: r["method"]?.string ?? ""))
        }
        self.init(recipe: recipe, shardCount: n, entries: entries)
    }

    public static func load(_ url: URL) throws -> ShardPlan {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw RecipeError(file: url.path, path: "", "cannot read the shard plan: \(error.localizedDescription)")
        }
        return try ShardPlan(json: try JSONValue.parse(text, file: url.path), file: url.path)
    }

    /// Writes the plan atomically (temporary file, fsync, rename).
    public func write(to url: URL) throws {
        try AtomicFile.write(json.text + "\n", to: url)
    }
}
