import Foundation

/// Adam (Kingma & Ba) with bias correction, no weight decay: θ −= lr·m̂/(√v̂ + ε).
public struct Adam: Sendable {
    public var beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8
    public private(set) var step = 0
    var m: [Double], v: [Double]

    public init(parameterCount: Int) {
        m = [Double](repeating: 0, count: parameterCount)
        v = m
    }

    public mutating func update(_ theta: inout [Float], gradient g: [Float], learningRate lr: Double) {
        step += 1
        let c1 = 1 - pow(beta1, Double(step)), c2 = 1 - pow(beta2, Double(step))
        for i in theta.indices {
            let gi = Double(g[i])
            m[i] = beta1 * m[i] + (1 - beta1) * gi
            v[i] = beta2 * v[i] + (1 - beta2) * gi * gi
            theta[i] -= Float(lr * (m[i] / c1) / ((v[i] / c2).squareRoot() + epsilon))
        }
    }
}
