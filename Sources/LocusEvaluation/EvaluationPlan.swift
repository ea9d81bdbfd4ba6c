import LocusCore

/// The work of a resumable, shardable TruthfulQA evaluation, cut into units.
///
/// A unit is a run of consecutive questions of one group (fold) that the evaluators score
/// together: `unitSize` is a common multiple of the MC packed-group size and the generation
/// batch, so inside a unit the questions are packed exactly as an unsharded run packs them, and a
/// unit's numbers do not depend on which shard runs it or whether the run was interrupted
/// before it (packing changes float rounding). Units are the grain of the journal (one line per
/// finished unit) and of sharding.
///
/// Sharding (`shard(_:of:)`) balances token cost: units taken by decreasing cost (ties by plan
/// order) each go to the shard with the least cost so far (ties to the lowest index), the
/// greedy longest-processing-time rule; each shard then runs its units in plan order. The split
/// depends only on the plan, so every shard process computes the same one.
public struct EvaluationPlan: Equatable, Sendable {
    public struct Unit: Equatable, Sendable {
        /// Index of the group (fold) in the evaluation.
        public var group: Int
        public var questionIDs: [Int]
        /// Tokens to process (the balancing weight).
        public var cost: Int
    }

    public let units: [Unit]
    public let unitSize: Int

    /// - Parameters:
    ///   - groups: each group's question ids, in evaluation order.
    ///   - cost: a question's token cost.
    public init(groups: [[Int]], unitSize: Int, cost: (Int) -> Int) {
        precondition(unitSize >= 1)
        self.unitSize = unitSize
        var units: [Unit] = []
        for (g, ids) in groups.enumerated() {
            var start = 0
            while start < ids.count {
                let chunk = Array(ids[start..<min(start + unitSize, ids.count)])
                units.append(Unit(group: g, questionIDs: chunk, cost: chunk.reduce(0) { $0 + cost($1) }))
                start += unitSize
            }
        }
        self.units = units
    }

    /// The smallest unit size that is a multiple of every packing size given (MC questions per
    /// group, generation batch).
    public static func unitSize(_ sizes: [Int]) -> Int {
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        return sizes.map { max(1, $0) }.reduce(1) { $0 / gcd($0, $1) * $1 }
    }

    /// Indices (into `units`) of shard `index` of `count`, in plan order.
    public func shard(_ index: Int, of count: Int) -> [Int] {
        precondition(count >= 1 && (0..<count).contains(index))
        guard count > 1 else { return Array(units.indices) }
        let owner = longestProcessingTimeAssignment(costs: units.map(\.cost), bins: count)
        return units.indices.filter { owner[$0] == index }
    }
}
