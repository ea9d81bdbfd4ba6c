import Foundation

/// Logit soft-capping (Gemma 2/3: attention scores and final logits), element-wise:
///
///     y = c · tanh(x / c)      (|y| < c; y ≈ x for |x| ≪ c)
///
/// tanh comes from `VectorTanh`.
public enum SoftCap {
    /// y = c·tanh(x/c) for `count` floats; y may alias x (logits are capped in place).
    public static func forward(
        _ x: UnsafePointer<Float>, cap: Float, count: Int, into y: UnsafeMutablePointer<Float>
    ) {
        let c = SIMD8<Float>(repeating: cap), inverse = SIMD8<Float>(repeating: 1 / cap)
        Lanes.map(x, count: count, into: y) { c * VectorTanh.tanh8($0 * inverse) }
    }

    /// Backward from the *output* y (what an in-place forward leaves):
    ///
    ///     dx = dy ⊙ (1 − (y/c)²)
    ///
    /// Written, not accumulated, so that dx may alias dy (the gradient is scaled in place).
    public static func backward(
        _ dy: UnsafePointer<Float>, output y: UnsafePointer<Float>, cap: Float, count: Int,
        into dx: UnsafeMutablePointer<Float>
    ) {
        let inverse = SIMD8<Float>(repeating: 1 / cap)
        Lanes.map(dy, y, count: count, into: dx) { d, y in
            let t = y * inverse
            return d * (1 - t * t)
        }
    }
}
