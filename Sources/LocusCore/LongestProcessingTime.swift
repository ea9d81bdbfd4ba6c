/// Greedy longest-processing-time assignment of jobs to bins (Graham 1969): jobs are taken by
/// decreasing cost, each going to the bin with the least total cost so far (ties to the lowest
/// bin index). With `p` bins the largest bin is at most 4/3 − 1/(3p) times the optimum.
///
/// Deterministic: the order among jobs of equal cost is `precedes` (a strict order the caller
/// chooses, e.g. plan order or run id), so every process of a sharded run that computes the
/// assignment from the same inputs gets the same split. Used by `EvaluationPlan.shard` (token
/// costs) and `ShardPlan.balanced` (estimated seconds).
///
/// - Parameters:
///   - costs: one cost per job.
///   - bins: the number of bins (≥ 1).
///   - precedes: among jobs of equal cost, whether job `a` is taken before job `b`.
/// - Returns: the bin of each job, indexed like `costs`.
public func longestProcessingTimeAssignment<Cost: Comparable & AdditiveArithmetic>(
    costs: [Cost], bins: Int, precedes: (Int, Int) -> Bool = { $0 < $1 }
) -> [Int] {
    precondition(bins >= 1)
    let order = costs.indices.sorted { costs[$0] != costs[$1] ? costs[$0] > costs[$1] : precedes($0, $1) }
    var load = [Cost](repeating: .zero, count: bins)
    var bin = [Int](repeating: 0, count: costs.count)
    for job in order {
        let target = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
        bin[job] = target
        load[target] += costs[job]
    }
    return bin
}
