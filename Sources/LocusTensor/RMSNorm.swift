import Foundation

/// Root-mean-square normalisation, row by row:
///
///     r = (mean_i x_i² + ε)^(-1/2),   y_i = (o + w_i) · (x_i · r)
///
/// The product is taken in that order (x·r first, then the weight), as the reference
/// implementations do. The weight `offset` o is 0 for llama/Qwen2 and 1 for Gemma, whose
/// checkpoints store w − 1 (`Gemma3RMSNorm`: `output * (1.0 + self.weight.float())`).
public enum RMSNorm {
    /// - x: (rows, width); weight: (width); y: (rows, width), may alias x.
    /// - inverseRMS: when given, receives r per row (rows), which `backward` needs.
    /// - offset: o, added to every weight (0: the weight as stored).
    public static func forward(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, rows: Int, width: Int,
        epsilon: Float, into y: UnsafeMutablePointer<Float>,
        inverseRMS: UnsafeMutablePointer<Float>? = nil, offset: Float = 0
    ) {
        for row in 0..<rows {
            let xr = x + row * width
            let yr = y + row * width
            var sum: Float = 0
            for i in 0..<width { sum += xr[i] * xr[i] }
            let r = 1 / (sum / Float(width) + epsilon).squareRoot()
            inverseRMS?[row] = r
            if offset == 0 {
                for i in 0..<width { yr[i] = weight[i] * (xr[i] * r) }
            } else {
                for i in 0..<width { yr[i] = (offset + weight[i]) * (xr[i] * r) }
            }
        }
    }

    /// Backward of `forward`, accumulating into `dx` (and `dWeight` when given):
    ///
    ///     dx_i += r·w'_i·dy_i − (r³/C)·x_i·Σ_j w'_j·dy_j·x_j,   w' = o + w
    ///     dw_i += Σ_rows dy_i·x_i·r   (the offset is a constant: dw'/dw = 1)
    public static func backward(
        _ dy: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        inverseRMS: UnsafePointer<Float>, rows: Int, width: Int,
        dx: UnsafeMutablePointer<Float>, dWeight: UnsafeMutablePointer<Float>? = nil,
        offset: Float = 0
    ) {
        for row in 0..<rows {
            let xr = x + row * width
            let dyr = dy + row * width
            let dxr = dx + row * width
            let r = inverseRMS[row]
            var dot: Float = 0
            for j in 0..<width { dot += (offset + weight[j]) * dyr[j] * xr[j] }
            let c = r * r * r * dot / Float(width)
            for i in 0..<width { dxr[i] += r * (offset + weight[i]) * dyr[i] - c * xr[i] }
            if let dWeight {
                for i in 0..<width { dWeight[i] += dyr[i] * xr[i] * r }
            }
        }
    }
}
