/// The frame shared by histograms and line/scatter plots: plot area, nice-tick axes with grid
/// lines, axis labels and a title. Axis labels may be long (e.g. "truth (BLEU-acc, offline
/// substitute for GPT-judge)"); they are drawn in full at 12 px, under the x axis and rotated
/// beside the y axis.
public struct PlotFrame: Sendable {
    public var width: Double
    public var height: Double
    public var left = 70.0
    public var right = 20.0
    public var top = 48.0
    public var bottom = 58.0
    public var xDomain: ClosedRange<Double>
    public var yDomain: ClosedRange<Double>

    public init(
        width: Double, height: Double, xDomain: ClosedRange<Double>, yDomain: ClosedRange<Double>,
        right: Double = 20
    ) {
        self.width = width
        self.height = height
        self.xDomain = xDomain
        self.yDomain = yDomain
        self.right = right
    }

    public var plotLeft: Double { left }
    public var plotRight: Double { width - right }
    public var plotTop: Double { top }
    public var plotBottom: Double { height - bottom }

    public var x: LinearScale { LinearScale(domain: xDomain, range: plotLeft...plotRight) }
    public var y: LinearScale { LinearScale(domain: yDomain, range: plotTop...plotBottom, flipped: true) }

    /// A domain padded by `fraction` of its span on each side and widened to nice tick values;
    /// a single value gets a unit-wide domain around it.
    public static func niceDomain(_ values: [Double], pad fraction: Double = 0.05, includeZero: Bool = false)
        -> ClosedRange<Double>
    {
        let finite = values.filter(\.isFinite)
        guard var lo = finite.min(), var hi = finite.max() else { return 0...1 }
        if includeZero {
            lo = min(lo, 0)
            hi = max(hi, 0)
        }
        if lo == hi {
            let d = lo == 0 ? 0.5 : abs(lo) * 0.1
            return (lo - d)...(hi + d)
        }
        let span = hi - lo
        lo -= span * fraction
        hi += span * fraction
        if includeZero && values.filter(\.isFinite).min()! >= 0 { lo = max(lo, 0) }
        let ticks = LinearScale.niceTicks(lo, hi, count: 5)
        if ticks.count > 1 {
            let step = ticks[1] - ticks[0]
            lo = min(lo, ticks[0] - (ticks[0] > lo ? step : 0))
            hi = max(hi, ticks.last! + (ticks.last! < hi ? step : 0))
        }
        return lo...hi
    }

    /// Axes, grid, tick labels, axis labels and title.
    public func axes(title: String, xLabel: String, yLabel: String, xTicks: Int = 6, yTicks: Int = 5) -> SVGElement {
        var items: [SVGElement] = []
        let xs = x, ys = y
        let xt = LinearScale.niceTicks(xDomain.lowerBound, xDomain.upperBound, count: xTicks)
        let yt = LinearScale.niceTicks(yDomain.lowerBound, yDomain.upperBound, count: yTicks)
        let xStep = xt.count > 1 ? xt[1] - xt[0] : 1, yStep = yt.count > 1 ? yt[1] - yt[0] : 1
        for t in yt {
            let py = ys(t)
            items.append(.line(x1: plotLeft, y1: py, x2: plotRight, y2: py, stroke: "#e4e4e4"))
            items.append(
                .text(LinearScale.label(t, step: yStep), x: plotLeft - 6, y: py + 4, size: 10, anchor: "end",
                      className: "y-tick"))
        }
        for t in xt {
            let px = xs(t)
            items.append(.line(x1: px, y1: plotTop, x2: px, y2: plotBottom, stroke: "#eeeeee"))
            items.append(.line(x1: px, y1: plotBottom, x2: px, y2: plotBottom + 4))
            items.append(
                .text(LinearScale.label(t, step: xStep), x: px, y: plotBottom + 16, size: 10, className: "x-tick"))
        }
        items.append(.rect(
            x: plotLeft, y: plotTop, width: plotRight - plotLeft, height: plotBottom - plotTop, fill: "none",
            stroke: "#333"))
        items.append(.text(xLabel, x: (plotLeft + plotRight) / 2, y: plotBottom + 38, size: 12, className: "x-label"))
        items.append(
            .text(yLabel, x: 18, y: (plotTop + plotBottom) / 2, size: 12, rotate: -90, className: "y-label"))
        items.append(.text(title, x: width / 2, y: 24, size: 14, weight: "bold", className: "title"))
        return .group(items, className: "axes")
    }
}

/// Categorical colours (Okabe & Ito 2008): distinguishable by colour-blind readers.
public enum CategoricalPalette {
    public static let colors = [
        "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000",
    ]
    public static func color(_ i: Int) -> String { colors[((i % colors.count) + colors.count) % colors.count] }
    /// The colour of highlighted reference values (top-K lines and series).
    public static let highlight = "#d62728"
    /// The colour of many background series (random sets).
    public static let background = "#9a9a9a"
}
