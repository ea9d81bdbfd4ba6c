import Foundation

/// The Gaussian error linear unit, element-wise, in its two forms:
///
///     exact (`nn.GELU()`, HF "gelu"):  gelu(x) = x·Φ(x) = ½x·(1 + erf(x/√2))
///     tanh (`nn.GELU(approximate="tanh")`, HF "gelu_new", "gelu_pytorch_tanh"):
///         gelu(x) = ½x·(1 + tanh u),  u = √(2/π)·(x + 0.044715·x³)
///
/// The tanh form is evaluated as x·σ(2u) = x / (1 + e^(−2u)) (the same function, no cancellation
/// near 0). erf uses Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7 on erf, for Φ of negative x as
/// erfc·½ directly), which is also what PyTorch's AVX2 `Vectorized<float>::erf` uses; e^ comes
/// from `VectorExp`. Shapes do not matter: any (rows, width) run is `count = rows·width` floats.
public enum GELU {
    public enum Approximation: String, Sendable, CaseIterable {
        case exact, tanh
    }

    static let sqrt2OverPi: Float = 0.797_884_560_802_865_4  // √(2/π)
    static let cubic: Float = 0.044_715
    static let inverseSqrt2: Float = 0.707_106_781_186_547_5  // 1/√2
    static let inverseSqrt2Pi: Float = 0.398_942_280_401_432_7  // 1/√(2π)

    /// Φ(x), the standard normal CDF: ½·erfc(|x|/√2) for x < 0, 1 − that for x ≥ 0, with
    /// erfc(z) ≈ t·(a₁ + t·(a₂ + …)) · e^(−z²), t = 1/(1 + p·z) (A&S 7.1.26).
    @inline(__always)
    static func phi8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let z = Lanes.magnitude(x) * inverseSqrt2
        let t = 1 / (1 + 0.327_591_1 * z)
        var poly = SIMD8<Float>(repeating: 1.061_405_429)
        poly = poly * t - 1.453_152_027
        poly = poly * t + 1.421_413_741
        poly = poly * t - 0.284_496_736
        poly = poly * t + 0.254_829_592
        let halfErfc = 0.5 * t * poly * VectorExp.exp8(-z * z)
        return halfErfc.replacing(with: 1 - halfErfc, where: x .>= 0)
    }

    /// σ(2u) for the tanh form: ½(1 + tanh u).
    @inline(__always)
    static func tanhGate8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let u = sqrt2OverPi * (x + cubic * x * x * x)
        return 1 / (1 + VectorExp.exp8(-2 * u))
    }

    @inline(__always)
    static func value8(_ x: SIMD8<Float>, _ approximation: Approximation) -> SIMD8<Float> {
        switch approximation {
        case .exact: return x * phi8(x)
        case .tanh: return x * tanhGate8(x)
        }
    }

    /// gelu'(x):  exact: Φ(x) + x·φ(x),  φ(x) = e^(−x²/2)/√(2π);
    /// tanh: with s = σ(2u) = ½(1 + tanh u), ½(1 − tanh² u) = 2s(1 − s), so
    ///     gelu'(x) = s + 2x·s(1 − s)·√(2/π)·(1 + 3·0.044715·x²)
    @inline(__always)
    static func derivative8(_ x: SIMD8<Float>, _ approximation: Approximation) -> SIMD8<Float> {
        switch approximation {
        case .exact:
            return phi8(x) + x * inverseSqrt2Pi * VectorExp.exp8(-0.5 * x * x)
        case .tanh:
            let s = tanhGate8(x)
            return s + 2 * x * s * (1 - s) * sqrt2OverPi * (1 + 3 * cubic * x * x)
        }
    }

    /// y = gelu(x) for `count` floats; y may alias x. Runs are split over `threads`.
    public static func forward(
        _ x: UnsafePointer<Float>, count: Int, approximation: Approximation,
        into y: UnsafeMutablePointer<Float>, threads: Int = 1
    ) {
        nonisolated(unsafe) let x = x, y = y  // disjoint runs per thread
        Lanes.parallel(count: count, threads: threads) { start, length in
            switch approximation {
            case .exact: Lanes.map(x + start, count: length, into: y + start) { value8($0, .exact) }
            case .tanh: Lanes.map(x + start, count: length, into: y + start) { value8($0, .tanh) }
            }
        }
    }

    /// Backward: dx += dy ⊙ gelu'(x), accumulated; dx must not alias dy or x.
    public static func backward(
        _ dy: UnsafePointer<Float>, x: UnsafePointer<Float>, count: Int,
        approximation: Approximation, dx: UnsafeMutablePointer<Float>
    ) {
        var i = 0
        while i + 8 <= count {
            let d = Lanes.load(dy, i) * derivative8(Lanes.load(x, i), approximation)
            Lanes.store(Lanes.load(dx, i) + d, dx, i)
            i += 8
        }
        if i < count {
            let n = count - i
            let d = Lanes.loadTail(dy, i, n) * derivative8(Lanes.loadTail(x, i, n), approximation)
            Lanes.storeTail(Lanes.loadTail(dx, i, n) + d, dx, i, n)
        }
    }

    /// Naive twin for tests: the definition in `Double` (`Foundation.erf`, `Foundation.tanh`).
    public static func naive(_ x: Double, approximation: Approximation) -> Double {
        switch approximation {
        case .exact: return 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
        case .tanh:
            let u = (2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)
            return 0.5 * x * (1 + Foundation.tanh(u))
        }
    }
}
