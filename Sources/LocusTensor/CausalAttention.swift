import Foundation

/// Grouped-query causal attention of one sequence, all heads:
///
///     S_h = α · (Q_h · K_gᵀ),   α = 1/√D unless the shape sets `scale`
///     S_h ← c · tanh(S_h / c)   when the shape sets a soft-cap c (Gemma 2/3 `attn_logit_softcapping`)
///     masked so query i (absolute position P + i) sees keys j with j ≤ P + i and, in a
///     sliding-window layer of width W, P + i − j < W (transformers' `sliding_window_overlay`:
///     `kv_idx > q_idx - sliding_window`)
///     A_h = softmax(S_h) (row-wise),   Z_h = A_h · V_g,   g = h / (H / G)
///
/// Q holds the T new tokens, K and V hold all P + T tokens (the cache plus the new ones).
public struct AttentionShape: Sendable {
    public var queryHeads: Int  // H
    public var keyValueHeads: Int  // G
    public var headWidth: Int  // D
    /// α, the score scale; nil means 1/√D (Gemma: `query_pre_attn_scalar^(-1/2)`).
    public var scale: Float?
    /// c, the attention-logit soft-cap; nil means none.
    public var softCap: Float?
    /// W, the sliding window (keys at distance < W are visible); nil means full causal.
    public var window: Int?
    public init(
        queryHeads: Int, keyValueHeads: Int, headWidth: Int, scale: Float? = nil,
        softCap: Float? = nil, window: Int? = nil
    ) {
        precondition(window.map { $0 > 0 } ?? true, "attention window must be positive")
        self.queryHeads = queryHeads
        self.keyValueHeads = keyValueHeads
        self.headWidth = headWidth
        self.scale = scale
        self.softCap = softCap
        self.window = window
    }
    public var groupSize: Int { queryHeads / keyValueHeads }
    /// α as used: `scale`, or 1/√D.
    public var effectiveScale: Float { scale ?? 1 / Float(headWidth).squareRoot() }

    /// The visible keys of query i after P cached tokens: `first..<end`.
    @inline(__always)
    func visibleKeys(query i: Int, past: Int) -> (first: Int, end: Int) {
        let end = past + i + 1
        guard let window else { return (0, end) }
        return (max(0, end - window), end)
    }
}

public enum CausalAttention {
    /// - q: (T, H·D) at row stride `qStride`
    /// - keys, values: (P + T, G·D) at row stride `kvStride`
    /// - z: (T, H·D) at row stride `zStride`
    /// - probabilities: (H, T, P + T) scratch, receives A (zero where masked) for the backward pass
    ///
    /// The window is applied to absolute positions, so a cache may hold more than W tokens (the
    /// masked keys are skipped, not dropped).
    public static func forward(
        q: UnsafePointer<Float>, qStride: Int,
        keys: UnsafePointer<Float>, values: UnsafePointer<Float>, kvStride: Int,
        past: Int, tokens: Int, shape: AttentionShape,
        z: UnsafeMutablePointer<Float>, zStride: Int,
        probabilities: UnsafeMutablePointer<Float>
    ) {
        let d = shape.headWidth
        let total = past + tokens
        let scale = shape.effectiveScale
        for h in 0..<shape.queryHeads {
            let g = h / shape.groupSize
            let a = probabilities + h * tokens * total  // (T, P+T)
            BLAS.gemm(
                transposeB: true, m: tokens, n: total, k: d, alpha: scale,
                a: q + h * d, lda: qStride, b: keys + g * d, ldb: kvStride,
                c: a, ldc: total)
            for i in 0..<tokens {
                let (first, end) = shape.visibleKeys(query: i, past: past)
                let row = a + i * total
                if let cap = shape.softCap {
                    SoftCap.forward(row + first, cap: cap, count: end - first, into: row + first)
                }
                softmaxRow(row, first: first, end: end, count: total)
            }
            BLAS.gemm(
                m: tokens, n: d, k: total, a: a, lda: total, b: values + g * d, ldb: kvStride,
                c: z + h * d, ldc: zStride)
        }
    }

    /// Backward of `forward`, accumulating into dQ and into dK, dV of the T *new* tokens (K and V
    /// gradients summed over the heads of each group). The P cached keys and values of `past`
    /// are constants here (a prefix computed without the parameters being trained), so their
    /// gradients are not formed:
    ///
    ///     dA = dZ_h · V_gᵀ,   dS = A ⊙ (dA − rowsum(A ⊙ dA)),
    ///     dQ_h += dS · K_g / √D,   dK_g[P…] += dS[:, P…]ᵀ · Q_h / √D,   dV_g[P…] += A[:, P…]ᵀ · dZ_h
    ///
    /// - dz: (T, H·D) at `zStride`; probabilities: (H, T, P + T) as saved by `forward`
    /// - keys, values: (P + T, G·D) at `kvStride`, the same rows `forward` read
    /// - dq: (T, ·) at `dqStride`; dk, dv: (T, ·) at `dkvStride` (the new tokens' rows), accumulated
    /// With a soft-cap, dS is further multiplied by 1 − (S_capped/c)², the capped scores being
    /// recomputed from Q and K (A does not keep them).
    ///
    /// - scratch: (T, P + T); 2·T·(P + T) when the shape has a soft-cap
    public static func backward(
        dz: UnsafePointer<Float>, zStride: Int,
        q: UnsafePointer<Float>, qStride: Int,
        keys: UnsafePointer<Float>, values: UnsafePointer<Float>, kvStride: Int,
        probabilities: UnsafePointer<Float>, past: Int = 0, tokens: Int, shape: AttentionShape,
        dq: UnsafeMutablePointer<Float>, dqStride: Int,
        dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>, dkvStride: Int,
        scratch: UnsafeMutablePointer<Float>
    ) {
        let d = shape.headWidth, t = tokens, total = past + tokens
        let scale = shape.effectiveScale
        for h in 0..<shape.queryHeads {
            let g = h / shape.groupSize
            let a = probabilities + h * t * total  // (T, P+T)
            let ds = scratch  // (T, P+T)
            BLAS.gemm(
                transposeB: true, m: t, n: total, k: d, a: dz + h * d, lda: zStride,
                b: values + g * d, ldb: kvStride, c: ds, ldc: total)
            let capped = scratch + t * total  // (T, P+T), only with a soft-cap
            if shape.softCap != nil {
                BLAS.gemm(
                    transposeB: true, m: t, n: total, k: d, alpha: scale,
                    a: q + h * d, lda: qStride, b: keys + g * d, ldb: kvStride, c: capped, ldc: total)
            }
            for i in 0..<t {
                let ai = a + i * total, di = ds + i * total
                let (first, end) = shape.visibleKeys(query: i, past: past)
                var dot: Float = 0
                for j in first..<end { dot += ai[j] * di[j] }
                for j in 0..<first { di[j] = 0 }
                for j in first..<end { di[j] = ai[j] * (di[j] - dot) }
                for j in end..<total { di[j] = 0 }
                if let cap = shape.softCap {
                    let si = capped + i * total
                    SoftCap.forward(si + first, cap: cap, count: end - first, into: si + first)
                    SoftCap.backward(di + first, output: si + first, cap: cap, count: end - first, into: di + first)
                }
            }
            BLAS.gemm(
                m: t, n: d, k: total, alpha: scale, a: ds, lda: total, b: keys + g * d, ldb: kvStride,
                beta: 1, c: dq + h * d, ldc: dqStride)
            BLAS.gemm(
                transposeA: true, m: t, n: d, k: t, alpha: scale, a: ds + past, lda: total,
                b: q + h * d, ldb: qStride, beta: 1, c: dk + g * d, ldc: dkvStride)
            BLAS.gemm(
                transposeA: true, m: t, n: d, k: t, a: a + past, lda: total, b: dz + h * d, ldb: zStride,
                beta: 1, c: dv + g * d, ldc: dkvStride)
        }
    }

    /// In-place softmax of the entries `first..<end`; the rest of the row becomes 0.
    @inline(__always)
    static func softmaxRow(_ row: UnsafeMutablePointer<Float>, first: Int = 0, end: Int, count: Int) {
        var m = -Float.infinity
        for j in first..<end { m = max(m, row[j]) }
        VectorExp.apply(row + first, shift: -m, count: end - first, into: row + first)
        var sum: Float = 0
        for j in first..<end { sum += row[j] }
        let inv = 1 / sum
        for j in 0..<first { row[j] = 0 }
        for j in first..<end { row[j] *= inv }
        for j in end..<count { row[j] = 0 }
    }

    /// Naive twin for tests: explicit loops in `Double`, same layout as `forward` with packed
    /// strides; the shape's scale, soft-cap and window as the definition above states them.
    public static func naive(
        q: [Float], keys: [Float], values: [Float], past: Int, tokens: Int, shape: AttentionShape
    ) -> [Float] {
        let d = shape.headWidth, h = shape.queryHeads, g = shape.keyValueHeads
        var z = [Float](repeating: 0, count: tokens * h * d)
        for head in 0..<h {
            let kv = head / shape.groupSize
            for i in 0..<tokens {
                let position = past + i
                let visible = (0...position).filter { j in shape.window.map { position - j < $0 } ?? true }
                var scores = [Double]()
                for j in visible {
                    var s = 0.0
                    for c in 0..<d {
                        s += Double(q[i * h * d + head * d + c]) * Double(keys[j * g * d + kv * d + c])
                    }
                    s *= shape.scale.map(Double.init) ?? 1 / Double(d).squareRoot()
                    if let cap = shape.softCap.map(Double.init) { s = cap * Foundation.tanh(s / cap) }
                    scores.append(s)
                }
                let m = scores.max()!
                let e = scores.map { Foundation.exp($0 - m) }
                let total = e.reduce(0, +)
                for c in 0..<d {
                    var s = 0.0
                    for (k, j) in visible.enumerated() {
                        s += e[k] / total * Double(values[j * g * d + kv * d + c])
                    }
                    z[i * h * d + head * d + c] = Float(s)
                }
            }
        }
        return z
    }
}
