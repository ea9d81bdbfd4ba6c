/// A sequential colour map: piecewise-linear interpolation between control colours in sRGB.
public struct ColorMap: Sendable {
    /// Control colours as (r, g, b) in 0…1, evenly spaced over [0, 1].
    public var stops: [(Double, Double, Double)]

    public init(stops: [(Double, Double, Double)]) {
        precondition(stops.count >= 2)
        self.stops = stops
    }

    /// Viridis (van der Walt & Smith, matplotlib's default), sampled at 9 points: perceptually
    /// uniform and readable in grey scale and by colour-blind readers.
    public static let viridis = ColorMap(stops: [
        (0.267, 0.005, 0.329), (0.283, 0.141, 0.458), (0.254, 0.265, 0.530),
        (0.207, 0.372, 0.553), (0.164, 0.471, 0.558), (0.128, 0.567, 0.551),
        (0.135, 0.659, 0.518), (0.267, 0.749, 0.441), (0.478, 0.821, 0.318),
        (0.741, 0.873, 0.150), (0.993, 0.906, 0.144),
    ])

    /// The colour at `t` ∈ [0, 1] (clamped) as `#rrggbb`.
    public func hex(_ t: Double) -> String {
        let u = min(max(t.isFinite ? t : 0, 0), 1) * Double(stops.count - 1)
        let i = min(Int(u), stops.count - 2)
        let f = u - Double(i)
        let a = stops[i], b = stops[i + 1]
        func channel(_ x: Double, _ y: Double) -> Int { Int(((x + (y - x) * f) * 255).rounded()) }
        let (r, g, bl) = (channel(a.0, b.0), channel(a.1, b.1), channel(a.2, b.2))
        return "#" + [r, g, bl].map { v in
            let s = String(min(max(v, 0), 255), radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
    }
}
