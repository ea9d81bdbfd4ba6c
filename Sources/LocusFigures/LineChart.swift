/// A line chart of one or more series over a shared x axis (e.g. agreement rate per layer),
/// with a legend.
public struct LineChart: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var values: [Double]
        public var color: String
        public init(name: String, values: [Double], color: String) {
            self.name = name
            self.values = values
            self.color = color
        }
    }

    public var x: [Double]
    public var series: [Series]
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var yRange: ClosedRange<Double>?

    public init(
        x: [Double], series: [Series], title: String, xLabel: String, yLabel: String,
        yRange: ClosedRange<Double>? = nil
    ) {
        precondition(!x.isEmpty && series.allSatisfy { $0.values.count == x.count })
        self.x = x
        self.series = series
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.yRange = yRange
    }

    public func element() -> SVGElement {
        let left = 60.0, top = 40.0, plotWidth = 420.0, plotHeight = 240.0
        let width = left + plotWidth + 170, height = top + plotHeight + 50
        let xs = LinearScale(
            domain: (x.min()!)...(x.max()! > x.min()! ? x.max()! : x.min()! + 1),
            range: left...(left + plotWidth))
        let finite = series.flatMap(\.values).filter(\.isFinite)
        let yDomain =
            yRange
            ?? ((finite.min() ?? 0)...(max((finite.max() ?? 1), (finite.min() ?? 0) + 1e-9)))
        let ys = LinearScale(domain: yDomain, range: top...(top + plotHeight), flipped: true)
        var children: [SVGElement] = [
            .rect(x: 0, y: 0, width: width, height: height, fill: "white"),
            .rect(x: left, y: top, width: plotWidth, height: plotHeight, fill: "none", stroke: "#333"),
            .text(title, x: left + plotWidth / 2, y: 22, size: 14, weight: "bold"),
            .text(xLabel, x: left + plotWidth / 2, y: top + plotHeight + 38, size: 12),
            .text(yLabel, x: 16, y: top + plotHeight / 2, size: 12, rotate: -90),
        ]
        let yt = LinearScale.niceTicks(yDomain.lowerBound, yDomain.upperBound, count: 5)
        let ystep = yt.count > 1 ? yt[1] - yt[0] : 1
        for t in yt {
            children.append(.line(x1: left - 4, y1: ys(t), x2: left, y2: ys(t)))
            children.append(
                .text(LinearScale.label(t, step: ystep), x: left - 6, y: ys(t) + 4, size: 10, anchor: "end"))
        }
        let xt = LinearScale.niceTicks(xs.domain.lowerBound, xs.domain.upperBound, count: 8)
        let xstep = xt.count > 1 ? xt[1] - xt[0] : 1
        for t in xt {
            children.append(.line(x1: xs(t), y1: top + plotHeight, x2: xs(t), y2: top + plotHeight + 4))
            children.append(
                .text(LinearScale.label(t, step: xstep), x: xs(t), y: top + plotHeight + 16, size: 10))
        }
        for (k, s) in series.enumerated() {
            var points: [String] = []
            for (i, v) in s.values.enumerated() where v.isFinite {
                points.append("\(svgNumber(xs(x[i]))),\(svgNumber(ys(v)))")
                children.append(
                    SVGElement(
                        "circle",
                        [("cx", svgNumber(xs(x[i]))), ("cy", svgNumber(ys(v))), ("r", "2.5"),
                         ("fill", s.color)]))
            }
            children.append(
                SVGElement(
                    "polyline",
                    [("points", points.joined(separator: " ")), ("fill", "none"),
                     ("stroke", s.color), ("stroke-width", "1.8")]))
            let ly = top + 10 + Double(k) * 18
            children.append(
                .line(x1: left + plotWidth + 12, y1: ly, x2: left + plotWidth + 32, y2: ly, stroke: s.color, width: 2))
            children.append(.text(s.name, x: left + plotWidth + 38, y: ly + 4, size: 11, anchor: "start"))
        }
        return .document(width: width, height: height, children: children)
    }

    public func svg() -> String { "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + element().render() }
}
