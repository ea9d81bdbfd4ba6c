import CBLAS

/// The few BLAS calls Locus needs, with labelled arguments. All matrices are row-major.
public enum BLAS {
    /// Sets OpenBLAS's worker-thread count (process-wide). Results differ in the last bits between
    /// thread counts, so reference tests pin it.
    public static func setThreadCount(_ count: Int) {
        threadCount = max(1, count)
        openblas_set_num_threads(Int32(threadCount))
    }

    /// The thread count last set; Locus's own kernels split their work over as many threads.
    nonisolated(unsafe) public private(set) static var threadCount = 1

    /// A linear layer without bias: `y = x·Wᵀ` (+ `y` when `accumulate`).
    ///
    /// - x: (rows, inputWidth) with row stride `xStride` (defaults to `inputWidth`)
    /// - weight: (outputWidth, inputWidth), the checkpoint's (out, in) layout
    /// - y: (rows, outputWidth) with row stride `yStride` (defaults to `outputWidth`)
    ///
    /// One row uses `sgemv` (decoding), several use `sgemm` (prefill).
    public static func linear(
        _ x: UnsafePointer<Float>, rows: Int, inputWidth: Int, xStride: Int? = nil,
        weight: UnsafePointer<Float>, outputWidth: Int,
        into y: UnsafeMutablePointer<Float>, yStride: Int? = nil, accumulate: Bool = false
    ) {
        let beta: Float = accumulate ? 1 : 0
        if rows == 1 {
            cblas_sgemv(
                CblasRowMajor, CblasNoTrans, Int32(outputWidth), Int32(inputWidth), 1,
                weight, Int32(inputWidth), x, 1, beta, y, 1)
            return
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputWidth),
            Int32(inputWidth), 1, x, Int32(xStride ?? inputWidth), weight, Int32(inputWidth),
            beta, y, Int32(yStride ?? outputWidth))
    }

    /// Backward of `linear` toward its input: `dx = dy·W` (+ `dx` when `accumulate`).
    /// - dy: (rows, outputWidth); weight: (outputWidth, inputWidth); dx: (rows, inputWidth)
    public static func linearInputGradient(
        _ dy: UnsafePointer<Float>, rows: Int, outputWidth: Int,
        weight: UnsafePointer<Float>, inputWidth: Int,
        into dx: UnsafeMutablePointer<Float>, accumulate: Bool = false
    ) {
        gemm(
            m: rows, n: inputWidth, k: outputWidth, a: dy, lda: outputWidth, b: weight,
            ldb: inputWidth, beta: accumulate ? 1 : 0, c: dx, ldc: inputWidth)
    }

    /// Backward of `linear` toward its weight, accumulated: `dW += dyᵀ·x`.
    /// - dy: (rows, outputWidth); x: (rows, inputWidth); dW: (outputWidth, inputWidth)
    public static func linearWeightGradient(
        _ dy: UnsafePointer<Float>, x: UnsafePointer<Float>, rows: Int, outputWidth: Int,
        inputWidth: Int, into dW: UnsafeMutablePointer<Float>
    ) {
        gemm(
            transposeA: true, m: outputWidth, n: inputWidth, k: rows, a: dy, lda: outputWidth,
            b: x, ldb: inputWidth, beta: 1, c: dW, ldc: inputWidth)
    }

    /// General `C = α·op(A)·op(B) + β·C`, row-major, with explicit leading dimensions.
    /// op(A) is (m, k), op(B) is (k, n), C is (m, n).
    public static func gemm(
        transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k), alpha,
            a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// Naive twins of the BLAS calls, for tests: plain loops, accumulated in `Double`.
public enum NaiveBLAS {
    public static func linear(
        _ x: [Float], rows: Int, inputWidth: Int, weight: [Float], outputWidth: Int
    ) -> [Float] {
        var y = [Float](repeating: 0, count: rows * outputWidth)
        for r in 0..<rows {
            for o in 0..<outputWidth {
                var s = 0.0
                for i in 0..<inputWidth {
                    s += Double(x[r * inputWidth + i]) * Double(weight[o * inputWidth + i])
                }
                y[r * outputWidth + o] = Float(s)
            }
        }
        return y
    }
}
