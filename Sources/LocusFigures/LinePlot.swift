/// A scatter/line plot: one series per head set, points joined in order (e.g. along α), with a
/// legend. Series that share a legend label (e.g. fifty random sets) get one legend entry.
///
///     let plot = LinePlot(series: [.init(name: "top-16", points: [(0.3, 0.9, "α=5"), …])],
///                         title: "…", xLabel: "info …", yLabel: "truth …")
public struct LinePlot: Sendable {
    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double
        /// Shown next to the point if the series has `labelPoints` (e.g. "α=15").
        public var label: String
        public init(x: Double, y: Double, label: String = "") {
            self.x = x
            self.y = y
            self.label = label
        }
    }

    public struct Series: Sendable, Equatable {
        public var name: String
        public var points: [Point]
        public var color: String
        public var connect: Bool
        public var dashed: Bool
        public var labelPoints: Bool
        public var opacity: Double
        /// The legend label (nil: the name); series with equal labels share one legend entry.
        public var legendLabel: String?

        public init(
            name: String, points: [Point], color: String, connect: Bool = true, dashed: Bool = false,
            labelPoints: Bool = false, opacity: Double = 1, legendLabel: String? = nil
        ) {
            self.name = name
            self.points = points
            self.color = color
            self.connect = connect
            self.dashed = dashed
            self.labelPoints = labelPoints
            self.opacity = opacity
            self.legendLabel = legendLabel
        }
    }

    public var series: [Series]
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var width: Double
    public var height: Double
    public var xDomain: ClosedRange<Double>?
    public var yDomain: ClosedRange<Double>?

    public init(
        series: [Series], title: String, xLabel: String, yLabel: String, width: Double = 720,
        height: Double = 440, xDomain: ClosedRange<Double>? = nil, yDomain: ClosedRange<Double>? = nil
    ) {
        self.series = series
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.width = width
        self.height = height
        self.xDomain = xDomain
        self.yDomain = yDomain
    }

    public var legend: Legend {
        var seen = Set<String>()
        var entries: [Legend.Entry] = []
        for s in series {
            let label = s.legendLabel ?? s.name
            guard seen.insert(label).inserted else { continue }
            entries.append(.init(label: label, color: s.color, line: s.connect, marker: true, dashed: s.dashed))
        }
        return Legend(entries: entries)
    }

    public func element() -> SVGElement {
        let points = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let legend = legend
        // A long title widens the plot area so it is never cut by the frame.
        let width = max(self.width, HeatMap.estimatedTextWidth(title, size: 14) + 32 - legend.width - 16)
        let frame = PlotFrame(
            width: width + legend.width + 16, height: height,
            xDomain: xDomain ?? PlotFrame.niceDomain(points.map(\.x)),
            yDomain: yDomain ?? PlotFrame.niceDomain(points.map(\.y)), right: legend.width + 32)
        let xs = frame.x, ys = frame.y
        var layers: [SVGElement] = []
        // Labels of different series at the same place are stacked upwards, in their series' colour.
        var labelsStacked: [String: Int] = [:]
        // Background series first, so highlighted ones stay on top.
        for (i, s) in series.enumerated().sorted(by: { ($0.element.opacity, $0.offset) < ($1.element.opacity, $1.offset) }) {
            let ps = s.points.filter { $0.x.isFinite && $0.y.isFinite }
            var items: [SVGElement] = []
            if s.connect && ps.count > 1 {
                items.append(.polyline(ps.map { (xs($0.x), ys($0.y)) }, stroke: s.color, width: 1.6,
                                       dashed: s.dashed, opacity: s.opacity))
            }
            // Labels of points drawn at the same place (e.g. τ = 0.1 and τ = 0.3 giving the same
            // truth and info) are joined into one, instead of being printed over each other.
            var labelsAt: [String: [String]] = [:]
            var labelOrder: [(key: String, x: Double, y: Double)] = []
            if s.labelPoints {
                for p in ps where !p.label.isEmpty {
                    let key = "\(Int((xs(p.x) / 3).rounded())),\(Int((ys(p.y) / 3).rounded()))"
                    if labelsAt[key] == nil { labelOrder.append((key, xs(p.x), ys(p.y))) }
                    if !(labelsAt[key]?.contains(p.label) ?? false) { labelsAt[key, default: []].append(p.label) }
                }
            }
            for p in ps {
                var dot = SVGElement.circle(
                    x: xs(p.x), y: ys(p.y), r: 3.5, fill: s.color,
                    extra: [("class", "point"), ("data-x", svgNumber4(p.x)), ("data-y", svgNumber4(p.y))]
                        + (s.opacity < 1 ? [("fill-opacity", svgNumber(s.opacity))] : []))
                dot.children = [SVGElement("title", text: "\(s.name) \(p.label): (\(svgNumber4(p.x)), \(svgNumber4(p.y)))")]
                items.append(dot)
            }
            for l in labelOrder {
                let level = labelsStacked[l.key, default: 0]
                labelsStacked[l.key] = level + 1
                var text = SVGElement.text(
                    labelsAt[l.key]!.joined(separator: ", "), x: l.x + 5, y: l.y - 5 - 11 * Double(level), size: 9,
                    anchor: "start", className: "point-label")
                text.attributes.append(("fill", s.color))
                items.append(text)
            }
            layers.append(SVGElement("g", [("class", "series"), ("data-name", s.name), ("data-index", "\(i)")],
                                     children: items))
        }
        return .document(
            width: frame.width, height: height,
            children: [
                .rect(x: 0, y: 0, width: frame.width, height: height, fill: "white"),
                frame.axes(title: title, xLabel: xLabel, yLabel: yLabel),
                .group(layers, className: "plot"),
                legend.element(x: frame.plotRight + 12, y: frame.plotTop),
            ])
    }

    public func svg() -> String { "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + element().render() }
}
