import Foundation

/// The gated activation of Gemma's MLP: `h = gelu(g) ⊙ u` (`gelu` in its tanh form by default,
/// HF `gelu_pytorch_tanh`), with gate and up packed as `SwiGLU` packs them.
public enum GeGLU {
    /// - gateUp: (rows, 2F): gate in columns 0..<F, up in F..<2F (the fused projection's output)
    /// - h: (rows, F)
    ///
    /// Rows are split over `threads`.
    public static func forward(
        gateUp: UnsafePointer<Float>, rows: Int, width: Int, into h: UnsafeMutablePointer<Float>,
        approximation: GELU.Approximation = .tanh, threads: Int = 1
    ) {
        let chunks = max(1, min(threads, rows))
        nonisolated(unsafe) let gateUp = gateUp, h = h  // disjoint rows per chunk
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            for r in stride(from: chunk, to: rows, by: chunks) {
                let g = gateUp + r * 2 * width
                switch approximation {
                case .exact:
                    Lanes.map(g, g + width, count: width, into: h + r * width) { g, u in
                        GELU.value8(g, .exact) * u
                    }
                case .tanh:
                    Lanes.map(g, g + width, count: width, into: h + r * width) { g, u in
                        GELU.value8(g, .tanh) * u
                    }
                }
            }
        }
    }

    /// Backward, accumulated into `dGateUp` (rows, 2F), same layout as `gateUp`:
    ///
    ///     dg += dh ⊙ u ⊙ gelu'(g),   du += dh ⊙ gelu(g)
    public static func backward(
        _ dh: UnsafePointer<Float>, gateUp: UnsafePointer<Float>, rows: Int, width: Int,
        dGateUp: UnsafeMutablePointer<Float>, approximation: GELU.Approximation = .tanh
    ) {
        for r in 0..<rows {
            let g = gateUp + r * 2 * width, u = g + width
            let dg = dGateUp + r * 2 * width, du = dg + width
            let dhr = dh + r * width
            var i = 0
            while i < width {
                let n = min(8, width - i)
                let gv = n == 8 ? Lanes.load(g, i) : Lanes.loadTail(g, i, n)
                let uv = n == 8 ? Lanes.load(u, i) : Lanes.loadTail(u, i, n)
                let dhv = n == 8 ? Lanes.load(dhr, i) : Lanes.loadTail(dhr, i, n)
                let dgv = dhv * uv * GELU.derivative8(gv, approximation)
                let duv = dhv * GELU.value8(gv, approximation)
                if n == 8 {
                    Lanes.store(Lanes.load(dg, i) + dgv, dg, i)
                    Lanes.store(Lanes.load(du, i) + duv, du, i)
                } else {
                    Lanes.storeTail(Lanes.loadTail(dg, i, n) + dgv, dg, i, n)
                    Lanes.storeTail(Lanes.loadTail(du, i, n) + duv, du, i, n)
                }
                i += 8
            }
        }
    }
}
