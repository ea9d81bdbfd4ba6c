import Foundation

/// L2-regularised logistic regression (scikit-learn's `LogisticRegression(C:)` objective,
/// intercept unpenalised), fitted by Newton's method with a backtracking line search. Plain loops
/// in `Double`, no threads, no randomness: the same data gives the same bits.
///
///     f(w, b) = ½‖w‖² + C · Σᵢ [log(1 + e^{zᵢ}) − tᵢ zᵢ],   zᵢ = w·xᵢ + b,  tᵢ ∈ {0, 1}
///     ∇_w f = w + C Σᵢ (pᵢ − tᵢ) xᵢ,    ∂_b f = C Σᵢ (pᵢ − tᵢ),    pᵢ = σ(zᵢ)
///     ∇²f = diag(1, …, 1, 0) + C Σᵢ pᵢ(1 − pᵢ) x̃ᵢ x̃ᵢᵀ,   x̃ᵢ = (xᵢ, 1)
///
/// f is strictly convex, so Newton converges quadratically from w = 0 (usually in < 10 steps).
public struct LogisticRegression: Codable, Equatable, Sendable {
    public var weights: [Double]
    public var bias: Double
    public var iterations: Int
    public var converged: Bool

    public init(weights: [Double], bias: Double, iterations: Int = 0, converged: Bool = true) {
        self.weights = weights
        self.bias = bias
        self.iterations = iterations
        self.converged = converged
    }

    /// z = w·x + b for row `i` of a row-major (n, d) matrix.
    @inline(__always)
    public func decision(_ x: UnsafePointer<Double>) -> Double {
        var z = bias
        for j in 0..<weights.count { z += weights[j] * x[j] }
        return z
    }

    /// Share of rows whose prediction (z > 0 ↔ true, as scikit-learn's `predict`) equals the label.
    public func accuracy(x: [Double], labels: [Bool]) -> Double {
        guard !labels.isEmpty else { return .nan }
        let d = weights.count
        var right = 0
        x.withUnsafeBufferPointer { p in
            for i in 0..<labels.count where (decision(p.baseAddress! + i * d) > 0) == labels[i] {
                right += 1
            }
        }
        return Double(right) / Double(labels.count)
    }

    /// log(1 + eᶻ) without overflow.
    @inline(__always)
    static func softplus(_ z: Double) -> Double { z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)) }

    @inline(__always)
    static func sigmoid(_ z: Double) -> Double {
        z >= 0 ? 1 / (1 + exp(-z)) : { let e = exp(z); return e / (1 + e) }()
    }

    /// The objective f(w, b) above.
    public static func objective(
        weights w: [Double], bias b: Double, x: [Double], labels: [Bool], c: Double
    ) -> Double {
        let d = w.count
        var loss = 0.0
        for i in 0..<labels.count {
            var z = b
            for j in 0..<d { z += w[j] * x[i * d + j] }
            loss += softplus(z) - (labels[i] ? z : 0)
        }
        return 0.5 * w.reduce(0) { $0 + $1 * $1 } + c * loss
    }

    /// Fits the model on the (n, d) row-major matrix `x`.
    ///
    /// Stops when the Newton decrement λ² = gᵀH⁻¹g falls below `tolerance`·(1 + f), or after
    /// `maxIterations` steps (then `converged` is false).
    public static func fit(
        x: [Double], labels: [Bool], columns d: Int, c: Double = 1, maxIterations: Int = 100,
        tolerance: Double = 1e-18
    ) -> LogisticRegression {
        let n = labels.count
        precondition(x.count == n * d, "x must be (labels.count, d)")
        let m = d + 1  // weights then bias
        var theta = [Double](repeating: 0, count: m)
        var f = objective(weights: Array(theta[0..<d]), bias: 0, x: x, labels: labels, c: c)
        var gradient = [Double](repeating: 0, count: m)
        var hessian = [Double](repeating: 0, count: m * m)
        var row = [Double](repeating: 1, count: m)
        for iteration in 1...max(1, maxIterations) {
            // Gradient and Hessian (upper triangle) at theta.
            for j in 0..<m { gradient[j] = j < d ? theta[j] : 0 }
            for j in 0..<(m * m) { hessian[j] = 0 }
            for j in 0..<d { hessian[j * m + j] = 1 }
            x.withUnsafeBufferPointer { xp in
                hessian.withUnsafeMutableBufferPointer { hp in
                    row.withUnsafeMutableBufferPointer { rp in
                        for i in 0..<n {
                            for j in 0..<d { rp[j] = xp[i * d + j] }
                            var z = theta[d]
                            for j in 0..<d { z += theta[j] * rp[j] }
                            let p = sigmoid(z)
                            let residual = c * (p - (labels[i] ? 1 : 0))
                            let weight = c * p * (1 - p)
                            for a in 0..<m {
                                gradient[a] += residual * rp[a]
                                let wa = weight * rp[a]
                                let h = hp.baseAddress! + a * m
                                for b in a..<m { h[b] += wa * rp[b] }
                            }
                        }
                    }
                }
            }
            for a in 0..<m { for b in 0..<a { hessian[a * m + b] = hessian[b * m + a] } }
            guard let step = choleskySolve(hessian, gradient, size: m) else {
                return LogisticRegression(
                    weights: Array(theta[0..<d]), bias: theta[d], iterations: iteration,
                    converged: false)
            }
            // Newton direction Δ = −H⁻¹g; decrement λ² = gᵀH⁻¹g.
            let decrement = zip(gradient, step).reduce(0) { $0 + $1.0 * $1.1 }
            if decrement < tolerance * (1 + abs(f)) {
                return LogisticRegression(
                    weights: Array(theta[0..<d]), bias: theta[d], iterations: iteration - 1,
                    converged: true)
            }
            var t = 1.0
            var candidate = theta
            var fNew = f
            while true {
                for j in 0..<m { candidate[j] = theta[j] - t * step[j] }
                fNew = objective(
                    weights: Array(candidate[0..<d]), bias: candidate[d], x: x, labels: labels, c: c)
                if fNew <= f - 1e-4 * t * decrement || t < 1e-10 { break }
                t *= 0.5
            }
            if fNew >= f {  // no descent possible in floating point: at the optimum
                return LogisticRegression(
                    weights: Array(theta[0..<d]), bias: theta[d], iterations: iteration,
                    converged: true)
            }
            theta = candidate
            f = fNew
        }
        return LogisticRegression(
            weights: Array(theta[0..<d]), bias: theta[d], iterations: maxIterations,
            converged: false)
    }

    /// Solves A·s = g for symmetric positive-definite A (m × m, row-major) by Cholesky A = L·Lᵀ.
    static func choleskySolve(_ a: [Double], _ g: [Double], size m: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: m * m)
        for i in 0..<m {
            for j in 0...i {
                var s = a[i * m + j]
                for k in 0..<j { s -= l[i * m + k] * l[j * m + k] }
                if i == j {
                    guard s > 0 else { return nil }
                    l[i * m + i] = s.squareRoot()
                } else {
                    l[i * m + j] = s / l[j * m + j]
                }
            }
        }
        var y = g
        for i in 0..<m {
            for k in 0..<i { y[i] -= l[i * m + k] * y[k] }
            y[i] /= l[i * m + i]
        }
        for i in stride(from: m - 1, through: 0, by: -1) {
            for k in (i + 1)..<m { y[i] -= l[k * m + i] * y[k] }
            y[i] /= l[i * m + i]
        }
        return y
    }
}
