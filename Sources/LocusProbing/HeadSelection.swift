import LocusTensor

/// Which heads an edit touches.
public enum HeadSelection {
    /// The first k heads of a ranking.
    public static func top(_ k: Int, of ranking: [RankedHead]) -> [HeadID] {
        ranking.prefix(k).map(\.id)
    }

    /// k distinct heads drawn uniformly from all layer × head pairs (seeded partial
    /// Fisher–Yates), returned in (layer, head) order.
    public static func random(_ k: Int, layerCount: Int, headCount: Int, seed: UInt64) -> [HeadID] {
        let total = layerCount * headCount
        precondition(k >= 0 && k <= total, "cannot draw \(k) of \(total) heads")
        var g = SeededGenerator(seed: seed)
        var pool = Array(0..<total)
        for i in 0..<k {
            let j = i + Int(g.next() % UInt64(total - i))
            pool.swapAt(i, j)
        }
        return pool.prefix(k).map { HeadID(layer: $0 / headCount, head: $0 % headCount) }.sorted()
    }
}
