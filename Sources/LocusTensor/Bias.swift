import Foundation

/// A bias row added to every row of a matrix (the `+ b` of a linear layer), and its gradient.
///
///     y[r, i] += b[i],     db[i] += Σ_r dy[r, i]
public enum Bias {
    /// - bias: (width); y: (rows, ·) at row stride `stride` (defaults to `width`), updated in place
    public static func add(
        _ bias: UnsafePointer<Float>, rows: Int, width: Int, to y: UnsafeMutablePointer<Float>,
        stride: Int? = nil
    ) {
        let s = stride ?? width
        for r in 0..<rows {
            let yr = y + r * s
            Lanes.map(yr, bias, count: width, into: yr) { $0 + $1 }
        }
    }

    /// The column sums of dy, accumulated into `dBias` (width).
    /// - dy: (rows, ·) at row stride `stride` (defaults to `width`)
    public static func gradient(
        _ dy: UnsafePointer<Float>, rows: Int, width: Int, stride: Int? = nil,
        into dBias: UnsafeMutablePointer<Float>
    ) {
        let s = stride ?? width
        for r in 0..<rows {
            Lanes.map(dBias, dy + r * s, count: width, into: dBias) { $0 + $1 }
        }
    }
}
