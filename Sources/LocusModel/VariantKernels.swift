import Foundation

// Forward/backward pairs of the block variants (LayerNorm, GELU, GeGLU, soft-cap) used by the
// non-llama families. Interim twins inside LocusModel until the LocusTensor kernels of the
// `kernels` branch land (same maths; each is checked through the model against PyTorch
// autograd in `FamilyParityTests`).

/// y = w ⊙ (x − μ)·s + b with μ = mean(x), s = (var(x) + ε)^(-1/2) (biased variance).
enum LayerNormKernel {
    static func forward(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        rows: Int, width: Int, epsilon: Float, into y: UnsafeMutablePointer<Float>,
        mean: UnsafeMutablePointer<Float>? = nil, inverseStd: UnsafeMutablePointer<Float>? = nil
    ) {
        for r in 0..<rows {
            let xr = x + r * width, yr = y + r * width
            var sum: Float = 0
            for i in 0..<width { sum += xr[i] }
            let mu = sum / Float(width)
            var squares: Float = 0
            for i in 0..<width {
                let d = xr[i] - mu
                squares += d * d
            }
            let s = 1 / (squares / Float(width) + epsilon).squareRoot()
            mean?[r] = mu
            inverseStd?[r] = s
            for i in 0..<width {
                yr[i] = (xr[i] - mu) * s * weight[i] + (bias?[i] ?? 0)
            }
        }
    }

    /// With x̂ = (x − μ)·s and g = w ⊙ dy:  dx += s·(g − mean(g) − x̂·mean(g ⊙ x̂)).
    static func backward(
        _ dy: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>, rows: Int, width: Int,
        dx: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let xr = x + r * width, dyr = dy + r * width, dxr = dx + r * width
            let mu = mean[r], s = inverseStd[r]
            var meanG: Float = 0, meanGX: Float = 0
            for i in 0..<width {
                let g = weight[i] * dyr[i]
                meanG += g
                meanGX += g * (xr[i] - mu) * s
            }
            meanG /= Float(width)
            meanGX /= Float(width)
            for i in 0..<width {
                let xhat = (xr[i] - mu) * s
                dxr[i] += s * (weight[i] * dyr[i] - meanG - xhat * meanGX)
            }
        }
    }
}

/// GELU, exact (erf) or tanh-approximated, and its derivative.
enum GELUKernel {
    static let k: Float = (2 / Float.pi).squareRoot()  // √(2/π)

    @inline(__always)
    static func value(_ x: Float, _ tanhForm: Bool) -> Float {
        if tanhForm {
            return 0.5 * x * (1 + Foundation.tanh(k * (x + 0.044715 * x * x * x)))
        }
        return 0.5 * x * (1 + Foundation.erf(x / Float(2).squareRoot()))
    }

    @inline(__always)
    static func derivative(_ x: Float, _ tanhForm: Bool) -> Float {
        if tanhForm {
            let u = k * (x + 0.044715 * x * x * x)
            let t = Foundation.tanh(u)
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
        }
        let phi = Foundation.exp(-0.5 * x * x) / (2 * Float.pi).squareRoot()
        return 0.5 * (1 + Foundation.erf(x / Float(2).squareRoot())) + x * phi
    }

    /// h = gelu(u) on (rows, F) (u may alias h? no: kept for the backward pass).
    static func forward(_ u: UnsafePointer<Float>, count: Int, tanh: Bool, into h: UnsafeMutablePointer<Float>) {
        for i in 0..<count { h[i] = value(u[i], tanh) }
    }

    /// du += dh ⊙ gelu'(u)
    static func backward(
        _ dh: UnsafePointer<Float>, u: UnsafePointer<Float>, count: Int, tanh: Bool,
        du: UnsafeMutablePointer<Float>
    ) {
        for i in 0..<count { du[i] += dh[i] * derivative(u[i], tanh) }
    }

    /// GeGLU: h = gelu(g) ⊙ u, gateUp rows (2F): gate in 0..<F, up in F..<2F.
    static func gatedForward(
        gateUp: UnsafePointer<Float>, rows: Int, width: Int, tanh: Bool,
        into h: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let g = gateUp + r * 2 * width, u = g + width, hr = h + r * width
            for i in 0..<width { hr[i] = value(g[i], tanh) * u[i] }
        }
    }

    /// dg += dh ⊙ u ⊙ gelu'(g),  du += dh ⊙ gelu(g)
    static func gatedBackward(
        _ dh: UnsafePointer<Float>, gateUp: UnsafePointer<Float>, rows: Int, width: Int,
        tanh: Bool, dGateUp: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let g = gateUp + r * 2 * width, u = g + width, dhr = dh + r * width
            let dg = dGateUp + r * 2 * width, du = dg + width
            for i in 0..<width {
                dg[i] += dhr[i] * u[i] * derivative(g[i], tanh)
                du[i] += dhr[i] * value(g[i], tanh)
            }
        }
    }
}

/// y = c·tanh(x/c), in place; backward: dx = dy·(1 − (y/c)²).
enum SoftCapKernel {
    static func forward(_ x: UnsafeMutablePointer<Float>, count: Int, cap: Float) {
        for i in 0..<count { x[i] = cap * Foundation.tanh(x[i] / cap) }
    }

    static func backward(
        _ dy: UnsafeMutablePointer<Float>, capped y: UnsafePointer<Float>, count: Int, cap: Float
    ) {
        for i in 0..<count {
            let t = y[i] / cap
            dy[i] *= 1 - t * t
        }
    }
}
