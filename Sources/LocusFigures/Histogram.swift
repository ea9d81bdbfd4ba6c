import Foundation

/// A histogram of values (e.g. the best True×Info of each random head set) with vertical
/// reference lines (e.g. the top-K heads' value) and annotation lines (e.g. the p-value).
///
///     let h = Histogram(values: randomBests, title: "…", xLabel: "best True×Info over α",
///                       references: [.init(value: top, label: "top-16 (probe)")],
///                       annotations: ["p = 0.04 (1 + #{random ≥ top}) / (1 + N), N = 50"])
public struct Histogram: Sendable {
    public struct Reference: Sendable, Equatable {
        public var value: Double
        public var label: String
        public var color: String
        public init(value: Double, label: String, color: String = CategoricalPalette.highlight) {
            self.value = value
            self.label = label
            self.color = color
        }
    }

    public var values: [Double]
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var references: [Reference]
    public var annotations: [String]
    /// Number of bins (default: Sturges' rule, at least 5).
    public var binCount: Int?
    public var width: Double
    public var height: Double

    public init(
        values: [Double], title: String, xLabel: String, yLabel: String = "number of head sets",
        references: [Reference] = [], annotations: [String] = [], binCount: Int? = nil,
        width: Double = 640, height: Double = 400
    ) {
        self.values = values.filter(\.isFinite)
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.references = references
        self.annotations = annotations
        self.binCount = binCount
        self.width = width
        self.height = height
    }

    /// Bin edges (count + 1 values) over the values and references, evenly spaced.
    public var edges: [Double] {
        let all = values + references.map(\.value).filter(\.isFinite)
        guard let lo = all.min(), let hi = all.max() else { return [0, 1] }
        let n = binCount ?? max(5, Int(ceil(log2(Double(max(values.count, 1))))) + 1)
        var a = lo, b = hi
        // A reference at or beyond the extreme values gets a margin, so its line is not drawn on
        // the frame (e.g. the top-16 value equal to the worst random set's).
        let refs = references.map(\.value).filter(\.isFinite)
        let span = b - a
        if let vmax = values.max(), let rmax = refs.max(), rmax >= vmax { b += 0.06 * span }
        if let vmin = values.min(), let rmin = refs.min(), rmin <= vmin { a -= 0.06 * span }
        if a == b {
            a -= 0.5 * max(abs(a) * 0.1, 0.01)
            b += 0.5 * max(abs(b) * 0.1, 0.01)
        }
        let step = (b - a) / Double(n)
        return (0...n).map { a + Double($0) * step }
    }

    /// Counts per bin; the last bin includes its upper edge.
    public var counts: [Int] {
        let e = edges
        let n = e.count - 1
        var c = [Int](repeating: 0, count: n)
        let step = e[1] - e[0]
        for v in values {
            let i = min(n - 1, max(0, Int(((v - e[0]) / step).rounded(.down))))
            c[i] += 1
        }
        return c
    }

    /// The drawn width: `width`, widened so the title, annotations and x label fit (≈ 0.6 em
    /// per character), never cut by the frame.
    public var figureWidth: Double {
        let texts = [HeatMap.estimatedTextWidth(title, size: 14), HeatMap.estimatedTextWidth(xLabel, size: 12)]
            + annotations.map { HeatMap.estimatedTextWidth($0, size: 11) }
        return max(width, (texts.max() ?? 0) + 32)
    }

    public func element() -> SVGElement {
        let e = edges, c = counts
        let maxCount = Double(c.max() ?? 1)
        let annotationSpace = 16.0 * Double(annotations.count)
        let width = figureWidth
        var frame = PlotFrame(
            width: width, height: height, xDomain: e.first!...e.last!,
            // At least 0…5, so the count axis gets whole-number ticks even for one or two sets.
            yDomain: 0...max(5, PlotFrame.niceDomain([0, maxCount * 1.12 + 0.5]).upperBound))
        frame.top = 48 + annotationSpace
        let xs = frame.x, ys = frame.y
        var bars: [SVGElement] = []
        for (i, count) in c.enumerated() {
            let x0 = xs(e[i]), x1 = xs(e[i + 1])
            var bar = SVGElement.rect(
                x: x0 + 0.5, y: ys(Double(count)), width: max(0, x1 - x0 - 1),
                height: ys(0) - ys(Double(count)), fill: "#8fb3d9", stroke: "#4a78a8",
                extra: [("class", "bar"), ("data-count", "\(count)"),
                        ("data-lower", svgNumber4(e[i])), ("data-upper", svgNumber4(e[i + 1]))])
            bar.children = [SVGElement("title", text: "[\(svgNumber4(e[i])), \(svgNumber4(e[i + 1]))): \(count)")]
            bars.append(bar)
        }
        var refs: [SVGElement] = []
        for (i, r) in references.enumerated() where r.value.isFinite {
            let px = xs(r.value)
            var line = SVGElement.line(x1: px, y1: frame.plotTop, x2: px, y2: frame.plotBottom, stroke: r.color, width: 2)
            line.attributes += [("stroke-dasharray", "6 3"), ("class", "reference"), ("data-value", svgNumber4(r.value))]
            refs.append(line)
            let anchor = px > (frame.plotLeft + frame.plotRight) / 2 ? "end" : "start"
            refs.append(.text(
                "\(r.label) = \(svgNumber4(r.value))", x: px + (anchor == "end" ? -5 : 5),
                y: frame.plotTop + 14 + 14 * Double(i), size: 11, anchor: anchor, className: "reference-label"))
        }
        var notes: [SVGElement] = []
        for (i, a) in annotations.enumerated() {
            notes.append(.text(a, x: width / 2, y: 44 + 16 * Double(i), size: 11, className: "annotation"))
        }
        return .document(
            width: width, height: height,
            children: [
                .rect(x: 0, y: 0, width: width, height: height, fill: "white"),
                frame.axes(title: title, xLabel: xLabel, yLabel: yLabel),
                .group(bars, className: "bars"), .group(refs, className: "references"),
                .group(notes, className: "annotations"),
            ])
    }

    public func svg() -> String { "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + element().render() }
}

/// Four significant decimals at most, for labels and data attributes.
public func svgNumber4(_ x: Double) -> String {
    guard x.isFinite else { return "nan" }
    var s = String(format: "%.4f", x)
    while s.hasSuffix("0") { s.removeLast() }
    if s.hasSuffix(".") { s.removeLast() }
    return s == "-0" ? "0" : s
}
