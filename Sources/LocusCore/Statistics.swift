import Foundation
import LocusTensor

/// The statistics every Locus report and analysis uses (sweep reports, the localization test,
/// causal scrubbing, ablation, the Hase et al. and interchange analyses).
///
/// - **Mean**: the arithmetic mean; the mean of an empty list is NaN (there is no mean), which
///   JSON output prints as `null` and reports as "–", rather than a 0 that reads like a result.
/// - **Quantiles**: linear interpolation between order statistics, Hyndman & Fan's type 7 (R's
///   default, numpy's `linear`): for sorted x₀ ≤ … ≤ xₙ₋₁ and p ∈ [0, 1], h = p·(n−1),
///   Q(p) = x⌊h⌋ + (h − ⌊h⌋)·(x⌊h⌋₊₁ − x⌊h⌋). The median is Q(½).
/// - **Bootstrap**: percentile intervals [Q(α/2), Q(1−α/2)] of a statistic over `resamples`
///   resamples of the items drawn with replacement by a seeded SplitMix64 (item i of a resample
///   is `next() % n`, drawn in order), so the same seed gives the same interval everywhere.
/// - **Permutation / empirical p-values**: p = (1 + #{null ≥ observed}) / (1 + N) (Phipson &
///   Smyth 2010), never 0.
public enum Statistics {
    /// The arithmetic mean; NaN for an empty list.
    public static func mean(_ x: [Double]) -> Double {
        x.isEmpty ? .nan : x.reduce(0, +) / Double(x.count)
    }

    /// The type-7 quantile of `x` at `p` ∈ [0, 1] (sorts a copy); NaN for an empty list.
    public static func quantile(_ x: [Double], _ p: Double) -> Double {
        quantile(sorted: x.sorted(), p)
    }

    /// The type-7 quantile of an already sorted list.
    public static func quantile(sorted s: [Double], _ p: Double) -> Double {
        guard !s.isEmpty else { return .nan }
        let pos = min(max(p, 0), 1) * Double(s.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(s.count - 1, lo + 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - Double(lo))
    }

    /// The median (type-7 quantile at ½: the mean of the two middle values of an even list).
    public static func median(_ x: [Double]) -> Double { quantile(x, 0.5) }

    /// Empirical p-value of `observed` against a null sample (random head sets, permutations):
    /// p = (1 + #{null ≥ observed}) / (1 + N). Never 0; 1/(1+N) when `observed` beats all.
    public static func empiricalPValue(observed: Double, null: [Double]) -> Double {
        let beating = null.filter { $0 >= observed }.count
        return Double(1 + beating) / Double(1 + null.count)
    }

    /// One-sided permutation test of mean(a) − mean(b) > 0: the labels of the pooled items are
    /// shuffled `permutations` times (seeded Fisher–Yates) and p is the empirical p-value of the
    /// observed difference against the shuffled ones.
    public static func permutationPValue(_ a: [Double], _ b: [Double], permutations: Int = 10_000, seed: UInt64 = 0)
        -> Double
    {
        guard !a.isEmpty, !b.isEmpty, permutations > 0 else { return .nan }
        let observed = mean(a) - mean(b)
        var pooled = a + b
        var g = SeededGenerator(seed: seed)
        var null: [Double] = []
        null.reserveCapacity(permutations)
        for _ in 0..<permutations {
            for i in stride(from: pooled.count - 1, to: 0, by: -1) {
                pooled.swapAt(i, Int(g.next() % UInt64(i + 1)))
            }
            null.append(mean(Array(pooled[..<a.count])) - mean(Array(pooled[a.count...])))
        }
        return empiricalPValue(observed: observed, null: null)
    }

    /// The bootstrap sample of `statistic` over `resamples` resamples of `count` items: each
    /// resample passes the drawn item indices (with replacement, seeded). Non-finite values
    /// are dropped.
    public static func bootstrapSample(
        count: Int, resamples: Int, seed: UInt64, statistic: ([Int]) -> Double
    ) -> [Double] {
        guard count > 0, resamples > 0 else { return [] }
        var g = SeededGenerator(seed: seed)
        var stats: [Double] = []
        stats.reserveCapacity(resamples)
        var idx = [Int](repeating: 0, count: count)
        for _ in 0..<resamples {
            for i in 0..<count { idx[i] = Int(g.next() % UInt64(count)) }
            let s = statistic(idx)
            if s.isFinite { stats.append(s) }
        }
        return stats
    }

    /// Percentile bootstrap confidence interval of `statistic` at `level` (type-7 quantiles of
    /// the bootstrap sample); nil when no resample gives a finite value.
    public static func bootstrap(
        count: Int, resamples: Int = 2000, level: Double = 0.95, seed: UInt64 = 0,
        statistic: ([Int]) -> Double
    ) -> ClosedRange<Double>? {
        let stats = bootstrapSample(count: count, resamples: resamples, seed: seed, statistic: statistic).sorted()
        guard !stats.isEmpty else { return nil }
        let alpha = (1 - level) / 2
        return quantile(sorted: stats, alpha)...quantile(sorted: stats, 1 - alpha)
    }

    /// Bootstrap interval of a sample mean.
    public static func meanInterval(_ x: [Double], resamples: Int = 2000, level: Double = 0.95, seed: UInt64 = 0)
        -> ClosedRange<Double>?
    {
        bootstrap(count: x.count, resamples: resamples, level: level, seed: seed) { idx in
            var sum = 0.0
            for i in idx { sum += x[i] }
            return sum / Double(idx.count)
        }
    }
}
