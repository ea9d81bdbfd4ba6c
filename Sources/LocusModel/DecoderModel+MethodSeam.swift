import LocusTensor

/// Pieces of one block that methods recompute outside the forward pass (path patching), each
/// in the family's own terms: its norm (RMSNorm, or LayerNorm with bias), its projection
/// biases, Gemma's post-attention norm. A method calls these instead of naming a family or a
/// norm, so it stays right in every family.
extension DecoderModel {
    /// The norm the attention of block `layer` reads its input through (for a parallel block,
    /// the MLP reads the same one): y = norm(x) row by row.
    ///
    /// - Parameters:
    ///   - x: (rows, C)
    ///   - y: (rows, C); may be `x`.
    public func normalizeAttentionInput(
        layer: Int, _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>
    ) {
        let w = weights.layers[layer]
        normalize(x, weight: w.attentionNorm, bias: w.attentionNormBias, rows: rows, into: y)
    }

    /// Rows `rowRange` of block `layer`'s fused Q/K/V projection applied to normalised inputs,
    /// bias included: out[r, k] = W_qkv[rowRange.lowerBound + k] · y[r] + b[rowRange.lowerBound + k].
    /// Rows 0..<H·D are queries, then keys (G·D), then values (G·D), as `LayerWeights.qkvMatrix`.
    ///
    /// - Parameters:
    ///   - y: (rows, C), from `normalizeAttentionInput`.
    ///   - out: row r's values go to out + r·outStride, `rowRange.count` of them.
    public func projectQueryKeyValue(
        layer: Int, rowRange: Range<Int>, _ y: UnsafePointer<Float>, rows: Int,
        into out: UnsafeMutablePointer<Float>, outStride: Int
    ) {
        let w = weights.layers[layer]
        let c = config.hiddenSize
        let block = UnsafeMutablePointer<Float>.allocate(capacity: rowRange.count * c)  // (k, C)
        defer { block.deallocate() }
        w.qkvMatrix.readRows(rowRange, into: block)
        let bias = w.qkvBias?.pointer
        for r in 0..<rows {
            let input = y + r * c
            let target = out + r * outStride
            for k in 0..<rowRange.count {
                let wr = block + k * c
                var acc: Float = 0
                for i in 0..<c { acc += wr[i] * input[i] }
                target[k] = acc + (bias.map { $0[rowRange.lowerBound + k] } ?? 0)
            }
        }
    }

    /// Whether block `layer`'s attention output is linear in the per-head results z (no norm
    /// after the output projection): then one head's contribution is W_o[:, h·D..<(h+1)·D]·z_h.
    /// Gemma-3's post-attention norm makes it nonlinear.
    public func attentionOutputIsLinear(layer: Int) -> Bool {
        weights.layers[layer].postAttentionNorm == nil
    }

    /// Whether block `layer`'s MLP output (`.mlpOut`) is W_down·h + b exactly: false where a norm
    /// follows the projection (Gemma-3's post-MLP norm), so a change δ of the MLP output is no
    /// longer a change W_down·Δk of the projection (ROME's rank-one solve).
    public func mlpOutputIsLinear(layer: Int) -> Bool {
        weights.layers[layer].postMLPNorm == nil
    }

    /// Block `layer`'s attention output from per-head results, as the forward pass computes it:
    /// out = post_norm(W_o z + b_o) (the post-norm only in families with sandwich norms).
    ///
    /// - Parameters:
    ///   - z: (rows, H·D)
    ///   - out: (rows, C)
    public func attentionOutput(
        layer: Int, heads z: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>
    ) {
        let w = weights.layers[layer]
        let c = config.hiddenSize
        w.outputMatrix.multiply(z, rows: rows, into: out)
        addBias(w.outputBias, rows: rows, width: c, into: out)
        if let post = w.postAttentionNorm {
            RMSNorm.forward(
                out, weight: post.pointer, rows: rows, width: c, epsilon: config.rmsNormEpsilon,
                into: out, inverseRMS: nil)
        }
    }
}
