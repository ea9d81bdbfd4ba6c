import Foundation

/// tanh for runs of floats, eight lanes at a time, as Cephes' `tanhf` splits it:
///
///     |x| < 0.625:  tanh x ≈ x + x·z·P(z),  z = x²  (degree-4 P: no cancellation near 0)
///     otherwise:    tanh x = sign(x) · (1 − 2 / (e^(2|x|) + 1))  (e^ from `VectorExp`)
///
/// Absolute error below 3e-7 and relative error below 5e-7 (checked against `Foundation.tanh`
/// in the tests).
public enum VectorTanh {
    @inline(__always)
    static func tanh8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let a = Lanes.magnitude(x)
        let z = x * x
        var p = SIMD8<Float>(repeating: -5.704_988_7e-3)
        p = p * z + 2.063_908_9e-2
        p = p * z - 5.373_971_6e-2
        p = p * z + 1.333_144_2e-1
        p = p * z - 3.333_328_2e-1
        let small = x + x * z * p
        let e = VectorExp.exp8(pointwiseMin(a + a, SIMD8(repeating: 88)))
        var large = 1 - 2 / (e + 1)
        large.replace(with: -large, where: x .< 0)
        return large.replacing(with: small, where: a .< 0.625)
    }

    /// y[i] = tanh(x[i]); x and y may alias.
    public static func apply(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        Lanes.map(x, count: count, into: y, tanh8)
    }
}
