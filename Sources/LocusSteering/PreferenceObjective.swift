import Foundation

/// The preference loss on the margin
///
///     h = [log π(y⁺|x) − log π₀(y⁺|x)] − [log π(y⁻|x) − log π₀(y⁻|x)]
///
/// - IPO (Azar et al. 2023): (h − 1/(2τ))², minimised at the target margin 1/(2τ).
/// - DPO (Rafailov et al. 2023): −log σ(β·h).
public enum PreferenceObjective: Codable, Equatable, Sendable, CustomStringConvertible {
    case ipo(tau: Double)
    case dpo(beta: Double)

    /// The loss and ∂loss/∂h for one pair.
    public func loss(margin h: Double) -> (value: Double, derivative: Double) {
        switch self {
        case .ipo(let tau):
            let d = h - 1 / (2 * tau)
            return (d * d, 2 * d)
        case .dpo(let beta):
            // −log σ(βh) = softplus(−βh), computed stably; ∂/∂h = −β·σ(−βh).
            let z = -beta * h
            let softplus = z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))
            let sigmoid = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
            return (softplus, -beta * sigmoid)
        }
    }

    public var description: String {
        switch self {
        case .ipo(let tau): "IPO (τ = \(tau), target margin \(1 / (2 * tau)))"
        case .dpo(let beta): "DPO (β = \(beta))"
        }
    }
}
