import Foundation

/// The gated activation of llama's MLP: `h = silu(g) ⊙ u` with `silu(g) = g / (1 + e^(−g))`.
public enum SwiGLU {
    /// - gateUp: (rows, 2F): gate in columns 0..<F, up in F..<2F (the fused projection's output)
    /// - h: (rows, F)
    public static func forward(
        gateUp: UnsafePointer<Float>, rows: Int, width: Int, into h: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let g = gateUp + r * 2 * width
            let u = g + width
            let hr = h + r * width
            for i in 0..<width { hr[i] = g[i] / (1 + Foundation.exp(-g[i])) * u[i] }
        }
    }

    /// Backward: with s = σ(g), silu'(g) = s·(1 + g·(1 − s)),
    ///
    ///     dg += dh ⊙ u ⊙ silu'(g),   du += dh ⊙ silu(g)
    ///
    /// - dGateUp: (rows, 2F), accumulated, same layout as `gateUp`.
    public static func backward(
        _ dh: UnsafePointer<Float>, gateUp: UnsafePointer<Float>, rows: Int, width: Int,
        dGateUp: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let g = gateUp + r * 2 * width
            let u = g + width
            let dg = dGateUp + r * 2 * width
            let du = dg + width
            let dhr = dh + r * width
            for i in 0..<width {
                let s = 1 / (1 + Foundation.exp(-g[i]))
                dg[i] += dhr[i] * u[i] * s * (1 + g[i] * (1 - s))
                du[i] += dhr[i] * g[i] * s
            }
        }
    }
}
