import Foundation

/// Rotary position embedding on adjacent pairs, the layout GGUF's converter produces (it permutes
/// Q and K rows; Hugging Face checkpoints are permuted the same way when loaded):
///
///     θ_i = (p / s) · base^(−2i/R),   (a, b) = (x_{2i}, x_{2i+1}),   i < R/2
///     y_{2i} = a·cos θ_i − b·sin θ_i,   y_{2i+1} = a·sin θ_i + b·cos θ_i
///     y_j = x_j for R ≤ j < D
///
/// R is the rotary width: D (every dimension rotates) by default; less for partial rotary
/// (GPT-J's `rotary_dim`, NeoX/Phi's `partial_rotary_factor`), where only the first R dimensions
/// of each head rotate and the frequencies are those of an R-wide head, as in transformers'
/// `create_sinusoidal_positions(max_pos, rotary_dim)` (GPT-J) and
/// `_compute_default_rope_parameters` (`dim = head_dim · partial_rotary_factor`). GPT-J rotates
/// adjacent pairs natively (`rotate_every_two`); NeoX-style half-split checkpoints need their
/// first R rows of each Q/K head permuted into this layout when loaded. s is linear position
/// scaling (`rope_scaling = {"rope_type": "linear", "factor": s}`, Gemma-3's global layers); 1
/// by default.
///
/// Frequencies and angles are computed in `Float` as the reference does; cos and sin are taken in
/// `Double` and rounded once.
public final class RoPETable: @unchecked Sendable {
    public let headWidth: Int
    /// R: the first R dimensions of each head rotate (R = D unless partial).
    public let rotaryWidth: Int
    public let base: Float
    /// s: positions are divided by s (linear scaling; 1 = none).
    public let linearScaling: Float
    private var cosines: [Float] = []  // (positions, R/2)
    private var sines: [Float] = []  // (positions, R/2)
    public private(set) var positionCount = 0
    private let inverseFrequencies: [Float]

    /// - rotaryWidth: R, even, at most `headWidth`; nil means `headWidth`
    /// - linearScaling: s > 0 (θ uses p / s)
    public init(headWidth: Int, base: Float, rotaryWidth: Int? = nil, linearScaling: Float = 1) {
        let r = rotaryWidth ?? headWidth
        precondition(r % 2 == 0 && r > 0 && r <= headWidth,
                     "RoPE needs an even rotary width in 2...\(headWidth), got \(r)")
        precondition(linearScaling > 0, "RoPE linear scaling must be positive")
        self.headWidth = headWidth
        self.rotaryWidth = r
        self.base = base
        self.linearScaling = linearScaling
        // transformers divides inv_freq by the factor (linear rope_type); θ = p · (inv_freq / s).
        inverseFrequencies = (0..<r / 2).map { i in
            1 / Foundation.pow(base, Float(2 * i) / Float(r)) / linearScaling
        }
    }

    /// Makes sure positions 0..<count have angles.
    public func reserve(positions count: Int) {
        guard count > positionCount else { return }
        let half = rotaryWidth / 2
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
    /// angles of `position` (their first R dimensions; the rest stay); `inverse` rotates by −θ,
    /// the transposed rotation, which is the backward pass: dx = Rᵀ·dy.
    public func rotate(
        _ x: UnsafeMutablePointer<Float>, heads: Int, position: Int, inverse: Bool = false
    ) {
        precondition(position < positionCount, "RoPE table not reserved for position \(position)")
        let half = rotaryWidth / 2
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
