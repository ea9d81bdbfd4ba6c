import Foundation

/// A linear map from a data interval to a pixel interval, with "nice" tick values
/// (1, 2 or 5 × 10ⁿ steps, Heckbert 1990), shared by heat-map colour bars and, later,
/// histogram and line/scatter axes.
public struct LinearScale: Sendable, Equatable {
    public var domain: ClosedRange<Double>
    public var range: ClosedRange<Double>
    /// When true, `domain.lowerBound` maps to `range.upperBound` (SVG's y grows downward).
    public var flipped: Bool

    public init(domain: ClosedRange<Double>, range: ClosedRange<Double>, flipped: Bool = false) {
        self.domain = domain
        self.range = range
        self.flipped = flipped
    }

    public func callAsFunction(_ x: Double) -> Double {
        let span = domain.upperBound - domain.lowerBound
        let t = span == 0 ? 0.5 : (x - domain.lowerBound) / span
        let u = flipped ? 1 - t : t
        return range.lowerBound + u * (range.upperBound - range.lowerBound)
    }

    /// About `count` evenly spaced round values inside the domain.
    public func ticks(count: Int = 5) -> [Double] {
        Self.niceTicks(domain.lowerBound, domain.upperBound, count: count)
    }

    public static func niceTicks(_ low: Double, _ high: Double, count: Int) -> [Double] {
        guard high > low, count > 0 else { return [low] }
        let raw = (high - low) / Double(count)
        let magnitude = pow(10, floor(log10(raw)))
        let residual = raw / magnitude
        var step = (residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1) * magnitude
        // At least two ticks inside [low, high] (0.0096…0.92 with step 0.5 had one, and a lone
        // tick cannot show the scale): step down 10 → 5 → 2 → 1 until two fit.
        while floor(high / step + 1e-9) - ceil(low / step - 1e-9) < 1 {
            let m = pow(10, floor(log10(step) + 1e-9))
            let lead = (step / m).rounded()
            step = (lead >= 5 ? 2 : lead >= 2 ? 1 : 0.5) * m
        }
        // Ticks are k·step for integer k, rounded to the step's decimals (no drift from summing).
        let scale = pow(10, max(0, ceil(-log10(step) + 1e-9)) + 1)
        var ticks: [Double] = []
        var k = ceil(low / step - 1e-9)
        while k * step <= high + step * 1e-9 {
            let v = (k * step * scale).rounded() / scale
            ticks.append(v == 0 ? 0 : v)
            k += 1
        }
        return ticks
    }

    /// A tick label with only as many decimals as the tick spacing needs.
    public static func label(_ value: Double, step: Double) -> String {
        let decimals = step >= 1 ? 0 : min(6, Int(ceil(-log10(step) - 1e-9)))
        return String(format: "%.\(decimals)f", value)
    }
}
