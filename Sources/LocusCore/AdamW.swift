import Foundation

/// Adam with decoupled weight decay (Loshchilov & Hutter), over one flat parameter vector:
///
///     m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  m̂ = m/(1−β₁ᵗ),  v̂ = v/(1−β₂ᵗ)
///     θ ← θ − η·(m̂/(√v̂ + ε) + λ·θ)
///
/// With λ = 0 this is Adam (Kingma & Ba 2015, bias-corrected), the optimizer of ROME's v*
/// search and FT-L. The one Adam in Locus (steering, ROME, fine-tuning). The update is
/// computed in Double and rounded to Float once. State is Codable so a run can be checkpointed
/// and resumed.
public struct AdamW: Codable, Equatable, Sendable {
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var epsilon = 1e-8
    public var weightDecay: Double
    public private(set) var step = 0
    public private(set) var m: [Double]
    public private(set) var v: [Double]

    public init(parameterCount: Int, weightDecay: Double = 0) {
        self.weightDecay = weightDecay
        m = Array(repeating: 0, count: parameterCount)
        v = Array(repeating: 0, count: parameterCount)
    }

    public mutating func update(_ theta: inout [Float], gradient g: [Float], learningRate lr: Double) {
        precondition(theta.count == m.count && g.count == m.count)
        step += 1
        let c1 = 1 - pow(beta1, Double(step)), c2 = 1 - pow(beta2, Double(step))
        for i in 0..<theta.count {
            let gi = Double(g[i])
            m[i] = beta1 * m[i] + (1 - beta1) * gi
            v[i] = beta2 * v[i] + (1 - beta2) * gi * gi
            let update = (m[i] / c1) / ((v[i] / c2).squareRoot() + epsilon)
            theta[i] = Float(Double(theta[i]) - lr * (update + weightDecay * Double(theta[i])))
        }
    }
}
