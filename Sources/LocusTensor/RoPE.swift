import Foundation

/// Rotary position embedding on adjacent pairs, the layout GGUF's converter produces (it permutes
/// Q and K rows; Hugging Face checkpoints are permuted the same way when loaded):
///
///     θ_i = p · base^(−2i/D),   (a, b) = (x_{2i}, x_{2i+1})
///     y_{2i} = a·cos θ_i − b·sin θ_i,   y_{2i+1} = a·sin θ_i + b·cos θ_i
///
/// Frequencies and angles are computed in `Float` as the reference does; cos and sin are taken in
/// `Double` and rounded once.
public final class RoPETable: @unchecked Sendable {
    public let headWidth: Int
    public let base: Float
    private var cosines: [Float] = []  // (positions, D/2)
    private var sines: [Float] = []  // (positions, D/2)
    public private(set) var positionCount = 0
    private let inverseFrequencies: [Float]

    public init(headWidth: Int, base: Float) {
        precondition(headWidth % 2 == 0, "RoPE needs an even head width")
        self.headWidth = headWidth
        self.base = base
        inverseFrequencies = (0..<headWidth / 2).map { i in
            1 / Foundation.pow(base, Float(2 * i) / Float(headWidth))
        }
    }

    /// Makes sure positions 0..<count have angles.
    public func reserve(positions count: Int) {
        guard count > positionCount else { return }
        let half = headWidth / 2
        cosines.reserveCapacity(count * half)
        sines.reserveCapacity(count * half)
        for p in positionCount..<count {
            for i in 0..<half {
                let angle = Float(p) * inverseFrequencies[i]
                cosines.append(Float(Foundation.cos(Double(angle))))
                sines.append(Float(Foundation.sin(Double(angle))))
            }
        }
        positionCount = count
    }

    /// Rotates `heads` vectors of width D stored consecutively at `x` (one token), in place, by the
    /// angles of `position`; `inverse` rotates by −θ (the backward pass).
    public func rotate(
        _ x: UnsafeMutablePointer<Float>, heads: Int, position: Int, inverse: Bool = false
    ) {
        precondition(position < positionCount, "RoPE table not reserved for position \(position)")
        let half = headWidth / 2
        cosines.withUnsafeBufferPointer { cosBuffer in
            sines.withUnsafeBufferPointer { sinBuffer in
                let c = cosBuffer.baseAddress! + position * half
                let s = sinBuffer.baseAddress! + position * half
                let sign: Float = inverse ? -1 : 1
                for h in 0..<heads {
                    let v = x + h * headWidth
                    for i in 0..<half {
                        let a = v[2 * i], b = v[2 * i + 1]
                        let sn = sign * s[i]
                        v[2 * i] = a * c[i] - b * sn
                        v[2 * i + 1] = a * sn + b * c[i]
                    }
                }
            }
        }
    }
}
