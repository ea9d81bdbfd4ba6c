import LocusCore

/// Loss recovered (Redwood's causal-scrubbing summary) and its bootstrap interval, on the
/// shared `Statistics` (type-7 percentile intervals, seeded resampling).
public enum Bootstrap {
    /// (L_random − L_scrubbed) / (L_random − L_model) of the means.
    public static func recovered(model: [Double], scrubbed: [Double], random: [Double]) -> Double {
        let m = Statistics.mean(model), s = Statistics.mean(scrubbed), r = Statistics.mean(random)
        return (r - s) / (r - m)
    }

    /// Percentile interval of `recovered` over items resampled with replacement (paired: one
    /// draw of item indices is used for all three lists), `resamples` times, seeded. NaNs with
    /// fewer than two items.
    public static func interval(
        model: [Double], scrubbed: [Double], random: [Double], resamples: Int = 1000,
        level: Double = 0.95, seed: UInt64
    ) -> (low: Double, high: Double) {
        guard model.count > 1 else { return (.nan, .nan) }
        let ci = Statistics.bootstrap(count: model.count, resamples: resamples, level: level, seed: seed) { idx in
            recovered(model: idx.map { model[$0] }, scrubbed: idx.map { scrubbed[$0] }, random: idx.map { random[$0] })
        }
        return ci.map { ($0.lowerBound, $0.upperBound) } ?? (.nan, .nan)
    }

    /// `Statistics.mean` (NaN for an empty list).
    public static func mean(_ x: [Double]) -> Double { Statistics.mean(x) }

    /// Percentile interval of a plain mean (`Statistics.meanInterval`); NaNs with fewer than two
    /// items.
    public static func meanInterval(_ x: [Double], resamples: Int = 1000, level: Double = 0.95, seed: UInt64)
        -> (low: Double, high: Double)
    {
        guard x.count > 1, let ci = Statistics.meanInterval(x, resamples: resamples, level: level, seed: seed) else {
            return (.nan, .nan)
        }
        return (ci.lowerBound, ci.upperBound)
    }
}
