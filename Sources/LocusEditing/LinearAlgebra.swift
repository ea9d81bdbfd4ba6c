/// Small dense linear algebra in Double, enough for ROME's C⁻¹k and the Hase regressions.
public enum LinearAlgebra {
    /// Cholesky factor L (lower, row-major) of a symmetric positive-definite (n, n) matrix,
    /// or nil if a pivot is not positive.
    public static func cholesky(_ a: [Double], n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            var d = a[j * n + j]
            for k in 0..<j { d -= l[j * n + k] * l[j * n + k] }
            guard d > 0 else { return nil }
            let ljj = d.squareRoot()
            l[j * n + j] = ljj
            for i in (j + 1)..<n {
                var s = a[i * n + j]
                for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
                l[i * n + j] = s / ljj
            }
        }
        return l
    }

    /// Solves L Lᵀ x = b with a Cholesky factor.
    public static func choleskySolve(_ l: [Double], n: Int, _ b: [Double]) -> [Double] {
        var y = b
        for i in 0..<n {
            var s = y[i]
            for k in 0..<i { s -= l[i * n + k] * y[k] }
            y[i] = s / l[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = y[i]
            for k in (i + 1)..<n { s -= l[k * n + i] * y[k] }
            y[i] = s / l[i * n + i]
        }
        return y
    }

    /// Least squares min ‖X β − y‖ by Householder QR, X (n, p) row-major. Columns that are
    /// (numerically) linear combinations of earlier ones get β = 0 and do not count in `rank`.
    public static func leastSquares(
        _ x: [Double], rows n: Int, columns p: Int, _ y: [Double]
    ) -> (coefficients: [Double], rank: Int) {
        var a = x, b = y
        var pivotRows: [Int: Int] = [:]  // column → row of its R diagonal
        var row = 0
        let scale = x.map(abs).max() ?? 1
        for j in 0..<p where row < n {
            var norm = 0.0
            for i in row..<n { norm += a[i * p + j] * a[i * p + j] }
            norm = norm.squareRoot()
            if norm <= 1e-10 * max(1, scale) * Double(n).squareRoot() { continue }
            let alpha = a[row * p + j] > 0 ? -norm : norm
            var v = [Double](repeating: 0, count: n)
            for i in row..<n { v[i] = a[i * p + j] }
            v[row] -= alpha
            let vv = v[row...].reduce(0) { $0 + $1 * $1 }
            if vv > 0 {
                for c in j..<p {
                    var dot = 0.0
                    for i in row..<n { dot += v[i] * a[i * p + c] }
                    let f = 2 * dot / vv
                    for i in row..<n { a[i * p + c] -= f * v[i] }
                }
                var dot = 0.0
                for i in row..<n { dot += v[i] * b[i] }
                let f = 2 * dot / vv
                for i in row..<n { b[i] -= f * v[i] }
            }
            pivotRows[j] = row
            row += 1
        }
        var beta = [Double](repeating: 0, count: p)
        for j in stride(from: p - 1, through: 0, by: -1) {
            guard let r = pivotRows[j] else { continue }
            var s = b[r]
            for c in (j + 1)..<p where pivotRows[c] != nil { s -= a[r * p + c] * beta[c] }
            beta[j] = s / a[r * p + j]
        }
        return (beta, pivotRows.count)
    }
}
