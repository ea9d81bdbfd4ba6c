import Foundation

/// The gated activation of llama's MLP: `h = silu(g) ⊙ u` with `silu(g) = g / (1 + e^(−g))`.
public enum SwiGLU {
    /// - gateUp: (rows, 2F): gate in columns 0..<F, up in F..<2F (the fused projection's output)
    /// - h: (rows, F)
    ///
    /// e^(−g) comes from `VectorExp` (relative error < 2e-7); rows are split over `threads`.
    public static func forward(
        gateUp: UnsafePointer<Float>, rows: Int, width: Int, into h: UnsafeMutablePointer<Float>,
        threads: Int = 1
    ) {
        let chunks = max(1, min(threads, rows))
        nonisolated(unsafe) let gateUp = gateUp, h = h  // disjoint rows per chunk
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            for r in stride(from: chunk, to: rows, by: chunks) {
                let g = gateUp + r * 2 * width
                let u = g + width
                let hr = h + r * width
                // hr ← e^(−g), then g / (1 + e^(−g)) · u
                for i in 0..<width { hr[i] = -g[i] }
                VectorExp.apply(hr, count: width, into: hr)
                for i in 0..<width { hr[i] = g[i] / (1 + hr[i]) * u[i] }
            }
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
