import Foundation

/// Grouped-query causal attention of one sequence, all heads:
///
///     S_h = (Q_h · K_gᵀ) / √D,  masked so query i sees keys 0...(P + i)
///     A_h = softmax(S_h) (row-wise),   Z_h = A_h · V_g,   g = h / (H / G)
///
/// Q holds the T new tokens, K and V hold all P + T tokens (the cache plus the new ones).
public struct AttentionShape: Sendable {
    public var queryHeads: Int  // H
    public var keyValueHeads: Int  // G
    public var headWidth: Int  // D
    public init(queryHeads: Int, keyValueHeads: Int, headWidth: Int) {
        self.queryHeads = queryHeads
        self.keyValueHeads = keyValueHeads
        self.headWidth = headWidth
    }
    public var groupSize: Int { queryHeads / keyValueHeads }
}

public enum CausalAttention {
    /// - q: (T, H·D) at row stride `qStride`
    /// - keys, values: (P + T, G·D) at row stride `kvStride`
    /// - z: (T, H·D) at row stride `zStride`
    /// - probabilities: (H, T, P + T) scratch, receives A (zero where masked) for the backward pass
    public static func forward(
        q: UnsafePointer<Float>, qStride: Int,
        keys: UnsafePointer<Float>, values: UnsafePointer<Float>, kvStride: Int,
        past: Int, tokens: Int, shape: AttentionShape,
        z: UnsafeMutablePointer<Float>, zStride: Int,
        probabilities: UnsafeMutablePointer<Float>
    ) {
        let d = shape.headWidth
        let total = past + tokens
        let scale = 1 / Float(d).squareRoot()
        for h in 0..<shape.queryHeads {
            let g = h / shape.groupSize
            let a = probabilities + h * tokens * total  // (T, P+T)
            BLAS.gemm(
                transposeB: true, m: tokens, n: total, k: d, alpha: scale,
                a: q + h * d, lda: qStride, b: keys + g * d, ldb: kvStride,
                c: a, ldc: total)
            for i in 0..<tokens {
                softmaxRow(a + i * total, visible: past + i + 1, count: total)
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
    /// - scratch: (T, P + T)
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
        let scale = 1 / Float(d).squareRoot()
        for h in 0..<shape.queryHeads {
            let g = h / shape.groupSize
            let a = probabilities + h * t * total  // (T, P+T)
            let ds = scratch  // (T, P+T)
            BLAS.gemm(
                transposeB: true, m: t, n: total, k: d, a: dz + h * d, lda: zStride,
                b: values + g * d, ldb: kvStride, c: ds, ldc: total)
            for i in 0..<t {
                let ai = a + i * total, di = ds + i * total
                let visible = past + i + 1
                var dot: Float = 0
                for j in 0..<visible { dot += ai[j] * di[j] }
                for j in 0..<visible { di[j] = ai[j] * (di[j] - dot) }
                for j in visible..<total { di[j] = 0 }
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

    /// In-place softmax of the first `visible` entries; the rest of the row becomes 0.
    @inline(__always)
    static func softmaxRow(_ row: UnsafeMutablePointer<Float>, visible: Int, count: Int) {
        var m = -Float.infinity
        for j in 0..<visible { m = max(m, row[j]) }
        VectorExp.apply(row, shift: -m, count: visible, into: row)
        var sum: Float = 0
        for j in 0..<visible { sum += row[j] }
        let inv = 1 / sum
        for j in 0..<visible { row[j] *= inv }
        for j in visible..<count { row[j] = 0 }
    }

    /// Naive twin for tests: explicit loops in `Double`, same layout as `forward` with packed strides.
    public static func naive(
        q: [Float], keys: [Float], values: [Float], past: Int, tokens: Int, shape: AttentionShape
    ) -> [Float] {
        let d = shape.headWidth, h = shape.queryHeads, g = shape.keyValueHeads
        var z = [Float](repeating: 0, count: tokens * h * d)
        for head in 0..<h {
            let kv = head / shape.groupSize
            for i in 0..<tokens {
                let visible = past + i + 1
                var scores = [Double](repeating: 0, count: visible)
                for j in 0..<visible {
                    var s = 0.0
                    for c in 0..<d {
                        s += Double(q[i * h * d + head * d + c]) * Double(keys[j * g * d + kv * d + c])
                    }
                    scores[j] = s / Double(d).squareRoot()
                }
                let m = scores.max()!
                let e = scores.map { Foundation.exp($0 - m) }
                let total = e.reduce(0, +)
                for c in 0..<d {
                    var s = 0.0
                    for j in 0..<visible { s += e[j] / total * Double(values[j * g * d + kv * d + c]) }
                    z[i * h * d + head * d + c] = Float(s)
                }
            }
        }
        return z
    }
}
