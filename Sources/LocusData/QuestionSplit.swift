import LocusTensor

/// Seeded splits of question ids (never of individual answers: all choices of a question stay
/// on one side, so probes and steering are always evaluated on unseen questions).
///
/// `SeededGenerator` is the only randomness; the same seed gives the same split everywhere.
public enum QuestionSplit {
    /// A Fisher–Yates permutation of `0..<count`.
    public static func permutation(count: Int, seed: UInt64) -> [Int] {
        var g = SeededGenerator(seed: seed)
        return shuffled(Array(0..<count), using: &g)
    }

    /// `items` in a seeded random order (Fisher–Yates from the back; `next() % (i + 1)`, whose
    /// bias is below 2⁻⁵⁰ for any realistic count).
    public static func shuffled<T>(_ items: [T], using g: inout SeededGenerator) -> [T] {
        var a = items
        guard a.count > 1 else { return a }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = Int(g.next() % UInt64(i + 1))
            a.swapAt(i, j)
        }
        return a
    }

    /// `k` folds of `0..<count`: a seeded permutation cut into near-equal consecutive parts (the
    /// first `count % k` folds get one extra, like numpy's `array_split`); each fold sorted.
    public static func folds(count: Int, folds k: Int, seed: UInt64) -> [[Int]] {
        precondition(k >= 1 && k <= max(count, 1), "fold count must be in 1...count")
        let order = permutation(count: count, seed: seed)
        var out: [[Int]] = []
        var start = 0
        for f in 0..<k {
            let size = count / k + (f < count % k ? 1 : 0)
            out.append(order[start..<(start + size)].sorted())
            start += size
        }
        return out
    }

    /// Splits `ids` into parts of the given fractions (summing to 1) after a seeded shuffle.
    /// Part i ends at round(n · Σ_{j≤i} f_j), so the sizes add up to n exactly. Each part sorted.
    public static func partition(_ ids: [Int], fractions: [Double], seed: UInt64) -> [[Int]] {
        precondition(!fractions.isEmpty && fractions.allSatisfy { $0 >= 0 })
        let total = fractions.reduce(0, +)
        precondition(abs(total - 1) < 1e-9, "fractions must sum to 1")
        var g = SeededGenerator(seed: seed)
        let order = shuffled(ids, using: &g)
        var out: [[Int]] = []
        var cumulative = 0.0
        var start = 0
        for (i, f) in fractions.enumerated() {
            cumulative += f
            let end = i == fractions.count - 1 ? order.count : Int((cumulative * Double(order.count)).rounded())
            out.append(order[start..<max(start, end)].sorted())
            start = max(start, end)
        }
        return out
    }
}
