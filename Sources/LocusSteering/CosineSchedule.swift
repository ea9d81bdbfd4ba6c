import Foundation

/// Cosine decay from the base rate to 0 over `totalSteps`, after an optional linear warm-up:
/// η_t = η·t/W for t < W, then η·½(1 + cos(π·(t−W)/(T−W))).
public struct CosineSchedule: Codable, Equatable, Sendable {
    public var baseRate: Double
    public var totalSteps: Int
    public var warmupSteps: Int

    public init(baseRate: Double, totalSteps: Int, warmupSteps: Int = 0) {
        self.baseRate = baseRate
        self.totalSteps = max(totalSteps, 1)
        self.warmupSteps = warmupSteps
    }

    /// The rate for 0-based step `t`.
    public func rate(at t: Int) -> Double {
        if t < warmupSteps { return baseRate * Double(t + 1) / Double(warmupSteps) }
        let span = max(totalSteps - warmupSteps, 1)
        let progress = min(Double(t - warmupSteps) / Double(span), 1)
        return baseRate * 0.5 * (1 + cos(.pi * progress))
    }
}
