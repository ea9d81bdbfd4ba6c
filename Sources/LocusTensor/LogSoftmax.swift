import Foundation

/// Log-sum-exp and log-softmax of logit rows, accumulated in `Double` for stability.
///
///     lse(x) = m + log Σ_j e^(x_j − m),  m = max_j x_j;   log p_j = x_j − lse(x)
public enum LogSoftmax {
    public static func logSumExp(_ row: UnsafePointer<Float>, count: Int) -> Float {
        var m = -Float.infinity
        for j in 0..<count { m = max(m, row[j]) }
        var sum = 0.0
        for j in 0..<count { sum += Foundation.exp(Double(row[j] - m)) }
        return m + Float(Foundation.log(sum))
    }

    /// log p(target) for one row of logits.
    public static func logProbability(of target: Int, in row: UnsafePointer<Float>, count: Int) -> Float {
        row[target] - logSumExp(row, count: count)
    }

    /// The index of the largest entry (the first one on ties, as `argmax` in the reference).
    public static func argmax(_ row: UnsafePointer<Float>, count: Int) -> Int {
        var best = 0
        for j in 1..<count where row[j] > row[best] { best = j }
        return best
    }
}
