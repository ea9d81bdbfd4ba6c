import LocusTensor

/// Loss recovered and its bootstrap interval.
public enum Bootstrap {
    /// (L_random − L_scrubbed) / (L_random − L_model) of the means.
    public static func recovered(model: [Double], scrubbed: [Double], random: [Double]) -> Double {
        let m = mean(model), s = mean(scrubbed), r = mean(random)
        return (r - s) / (r - m)
    }

    /// Percentile interval of `recovered` over items resampled with replacement (paired: one
    /// draw of item indices is used for all three lists), `resamples` times, seeded.
    public static func interval(
        model: [Double], scrubbed: [Double], random: [Double], resamples: Int = 1000,
        level: Double = 0.95, seed: UInt64
    ) -> (low: Double, high: Double) {
        let n = model.count
        guard n > 1 else { return (.nan, .nan) }
        var g = SeededGenerator(seed: seed)
        var values: [Double] = []
        values.reserveCapacity(resamples)
        var m = [Double](repeating: 0, count: n), s = m, r = m
        for _ in 0..<resamples {
            for i in 0..<n {
                let j = Int(g.next() % UInt64(n))
                m[i] = model[j]
                s[i] = scrubbed[j]
                r[i] = random[j]
            }
            let v = recovered(model: m, scrubbed: s, random: r)
            if v.isFinite { values.append(v) }
        }
        values.sort()
        guard !values.isEmpty else { return (.nan, .nan) }
        let a = (1 - level) / 2
        let lo = values[min(values.count - 1, Int(a * Double(values.count)))]
        let hi = values[min(values.count - 1, Int((1 - a) * Double(values.count)))]
        return (lo, hi)
    }

    public static func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(max(x.count, 1)) }

    /// Percentile interval of a plain mean.
    public static func meanInterval(_ x: [Double], resamples: Int = 1000, level: Double = 0.95, seed: UInt64)
        -> (low: Double, high: Double)
    {
        let n = x.count
        guard n > 1 else { return (.nan, .nan) }
        var g = SeededGenerator(seed: seed)
        var values: [Double] = []
        for _ in 0..<resamples {
            var sum = 0.0
            for _ in 0..<n { sum += x[Int(g.next() % UInt64(n))] }
            values.append(sum / Double(n))
        }
        values.sort()
        let a = (1 - level) / 2
        return (values[Int(a * Double(resamples))], values[min(resamples - 1, Int((1 - a) * Double(resamples)))])
    }
}
