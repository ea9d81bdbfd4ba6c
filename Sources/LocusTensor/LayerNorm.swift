import Foundation

/// Layer normalisation with an affine map, row by row (GPT-2, GPT-J; `torch.nn.LayerNorm`):
///
///     μ = mean_i x_i,   r = (mean_i (x_i − μ)² + ε)^(−1/2),   x̂_i = (x_i − μ)·r
///     y_i = w_i·x̂_i + b_i
///
/// The variance is the biased one (divided by C), as PyTorch's. Sums run over eight lanes.
public enum LayerNorm {
    /// - x: (rows, width); weight: (width); bias: (width) or nil (no bias); y: (rows, width),
    ///   may alias x
    /// - mean, inverseStd: when given, receive μ and r per row (rows), which `backward` needs
    public static func forward(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        rows: Int, width: Int, epsilon: Float, into y: UnsafeMutablePointer<Float>,
        mean: UnsafeMutablePointer<Float>? = nil, inverseStd: UnsafeMutablePointer<Float>? = nil
    ) {
        let n = Float(width)
        for row in 0..<rows {
            let xr = x + row * width
            let yr = y + row * width
            let mu = Lanes.sum(xr, count: width) / n
            // Two passes (mean, then squared deviations): no cancellation for rows far from 0.
            var acc = SIMD8<Float>(repeating: 0)
            var i = 0
            let m8 = SIMD8<Float>(repeating: mu)
            while i + 8 <= width {
                let d = Lanes.load(xr, i) - m8
                acc += d * d  // mul + add, not addingProduct (Lanes.dot)
                i += 8
            }
            var ss = acc.sum()
            while i < width {
                let d = xr[i] - mu
                ss += d * d
                i += 1
            }
            let r = 1 / (ss / n + epsilon).squareRoot()
            mean?[row] = mu
            inverseStd?[row] = r
            let r8 = SIMD8<Float>(repeating: r)
            if let bias {
                Lanes.map(xr, weight, count: width, into: yr) { x, w in w * ((x - m8) * r8) }
                Lanes.map(yr, bias, count: width, into: yr) { y, b in y + b }
            } else {
                Lanes.map(xr, weight, count: width, into: yr) { x, w in w * ((x - m8) * r8) }
            }
        }
    }

    /// Backward of `forward`, accumulating into `dx` (and `dWeight`, `dBias` when given), with
    /// g_i = w_i·dy_i:
    ///
    ///     dx_i += r·(g_i − mean_j g_j − x̂_i·mean_j g_j·x̂_j)
    ///     dw_i += Σ_rows dy_i·x̂_i,   db_i += Σ_rows dy_i
    ///
    /// - dy, x: (rows, width); mean, inverseStd: (rows) as `forward` saved them
    /// - dx: (rows, width); dWeight, dBias: (width); all accumulated; dx must not alias dy or x
    public static func backward(
        _ dy: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>, rows: Int, width: Int,
        dx: UnsafeMutablePointer<Float>, dWeight: UnsafeMutablePointer<Float>? = nil,
        dBias: UnsafeMutablePointer<Float>? = nil
    ) {
        let n = Float(width)
        for row in 0..<rows {
            let xr = x + row * width, dyr = dy + row * width, dxr = dx + row * width
            let m8 = SIMD8<Float>(repeating: mean[row])
            let r8 = SIMD8<Float>(repeating: inverseStd[row])
            // Σ g and Σ g·x̂ in one pass.
            var sg = SIMD8<Float>(repeating: 0), sgx = SIMD8<Float>(repeating: 0)
            var i = 0
            while i + 8 <= width {
                let g = Lanes.load(weight, i) * Lanes.load(dyr, i)
                sg += g
                sgx += g * ((Lanes.load(xr, i) - m8) * r8)
                i += 8
            }
            if i < width {
                let k = width - i
                let g = Lanes.loadTail(weight, i, k) * Lanes.loadTail(dyr, i, k)
                sg += g
                // Padded lanes have g = 0, so their x̂ does not matter.
                sgx += g * ((Lanes.loadTail(xr, i, k) - m8) * r8)
            }
            let meanG = SIMD8<Float>(repeating: sg.sum() / n)
            let meanGX = SIMD8<Float>(repeating: sgx.sum() / n)
            i = 0
            func step(_ xv: SIMD8<Float>, _ dyv: SIMD8<Float>, _ w: SIMD8<Float>) -> (SIMD8<Float>, SIMD8<Float>) {
                let xh = (xv - m8) * r8
                return (r8 * (w * dyv - meanG - xh * meanGX), xh)
            }
            while i + 8 <= width {
                let dyv = Lanes.load(dyr, i)
                let (d, xh) = step(Lanes.load(xr, i), dyv, Lanes.load(weight, i))
                Lanes.store(Lanes.load(dxr, i) + d, dxr, i)
                if let dWeight { Lanes.store(Lanes.load(dWeight, i) + dyv * xh, dWeight, i) }
                if let dBias { Lanes.store(Lanes.load(dBias, i) + dyv, dBias, i) }
                i += 8
            }
            if i < width {
                let k = width - i
                let dyv = Lanes.loadTail(dyr, i, k)
                let (d, xh) = step(Lanes.loadTail(xr, i, k), dyv, Lanes.loadTail(weight, i, k))
                Lanes.storeTail(Lanes.loadTail(dxr, i, k) + d, dxr, i, k)
                if let dWeight {
                    Lanes.storeTail(Lanes.loadTail(dWeight, i, k) + dyv * xh, dWeight, i, k)
                }
                if let dBias { Lanes.storeTail(Lanes.loadTail(dBias, i, k) + dyv, dBias, i, k) }
            }
        }
    }

    /// Naive twin for tests: the definition, accumulated in `Double`.
    public static func naive(
        _ x: [Float], weight: [Float], bias: [Float]?, rows: Int, width: Int, epsilon: Float
    ) -> [Float] {
        var y = [Float](repeating: 0, count: rows * width)
        for row in 0..<rows {
            let xr = (0..<width).map { Double(x[row * width + $0]) }
            let mu = xr.reduce(0, +) / Double(width)
            let variance = xr.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(width)
            let r = 1 / (variance + Double(epsilon)).squareRoot()
            for i in 0..<width {
                y[row * width + i] = Float(Double(weight[i]) * (xr[i] - mu) * r + Double(bias?[i] ?? 0))
            }
        }
        return y
    }
}
