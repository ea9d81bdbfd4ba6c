/// A causal-trace heat map (Meng et al. 2022, Fig. 1): rows are the prompt's tokens (subject
/// tokens marked with `*` and outlined), columns are layers; the colour is the score after
/// restoring that (token, layer). White is the corrupted score, the full colour the clean one.
public struct TraceHeatMap: Sendable {
    /// values[token][column].
    public var values: [[Double]]
    public var tokenLabels: [String]
    public var layerLabels: [Int]
    public var subject: Range<Int>
    public var title: String
    public var valueLabel: String
    /// Colour range; defaults to the data's min…max.
    public var valueRange: ClosedRange<Double>?
    /// The hue reached at the top of the range (ROME: purple hidden, green MLP, red attention).
    public var color: (Double, Double, Double)
    public var cellWidth: Double
    public var cellHeight: Double

    public init(
        values: [[Double]], tokenLabels: [String], layerLabels: [Int], subject: Range<Int>,
        title: String, valueLabel: String = "p(answer)", valueRange: ClosedRange<Double>? = nil,
        color: (Double, Double, Double) = (0.29, 0.10, 0.55), cellWidth: Double = 18,
        cellHeight: Double = 18
    ) {
        precondition(!values.isEmpty && values.count == tokenLabels.count, "one row per token")
        precondition(values.allSatisfy { $0.count == layerLabels.count }, "one column per layer")
        self.values = values
        self.tokenLabels = tokenLabels
        self.layerLabels = layerLabels
        self.subject = subject
        self.title = title
        self.valueLabel = valueLabel
        self.valueRange = valueRange
        self.color = color
        self.cellWidth = cellWidth
        self.cellHeight = cellHeight
    }

    var resolvedRange: ClosedRange<Double> {
        if let valueRange { return valueRange }
        let finite = values.joined().filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max(), lo < hi else { return 0...1 }
        return lo...hi
    }

    func hex(_ t: Double) -> String {
        let u = min(1, max(0, t))
        let r = 1 + (color.0 - 1) * u, g = 1 + (color.1 - 1) * u, b = 1 + (color.2 - 1) * u
        func byte(_ x: Double) -> String {
            let v = Int((min(1, max(0, x)) * 255).rounded())
            let digits = Array("0123456789abcdef")
            return String([digits[v / 16], digits[v % 16]])
        }
        return "#" + byte(r) + byte(g) + byte(b)
    }

    public func element() -> SVGElement {
        let labelWidth = Double(min(30, tokenLabels.map(\.count).max() ?? 4)) * 6.5 + 20
        let left = labelWidth, top = 44.0, barGap = 20.0, barWidth = 14.0
        let columns = layerLabels.count, rows = values.count
        let plotWidth = cellWidth * Double(columns), plotHeight = cellHeight * Double(rows)
        // Wide enough for the title (bold 14 px ≈ 8 px a character), which names the whole prompt.
        let width = max(left + plotWidth + barGap + barWidth + 70, Double(title.count) * 8 + 40)
        let height = top + plotHeight + 50
        let range = resolvedRange
        let scale = LinearScale(domain: range, range: 0...1)
        var cells: [SVGElement] = []
        for r in 0..<rows {
            for c in 0..<columns {
                let v = values[r][c]
                var cell = SVGElement.rect(
                    x: left + Double(c) * cellWidth, y: top + Double(r) * cellHeight,
                    width: cellWidth, height: cellHeight, fill: v.isFinite ? hex(scale(v)) : "#cccccc",
                    extra: [("class", "cell")])
                cell.children = [
                    SVGElement("title", text: "\(tokenLabels[r]) · layer \(layerLabels[c]): \(v)")
                ]
                cells.append(cell)
            }
        }
        var axes: [SVGElement] = []
        for r in 0..<rows {
            var label = String(tokenLabels[r].prefix(30))
            if subject.contains(r) { label += "*" }
            axes.append(
                .text(
                    label, x: left - 6, y: top + (Double(r) + 0.5) * cellHeight + 4, size: 11,
                    anchor: "end", weight: subject.contains(r) ? "bold" : nil, className: "token"))
        }
        if !subject.isEmpty {
            axes.append(
                .rect(
                    x: left, y: top + Double(subject.lowerBound) * cellHeight, width: plotWidth,
                    height: Double(subject.count) * cellHeight, fill: "none", stroke: "#333",
                    strokeWidth: 1.2, extra: [("class", "subject")]))
        }
        let stride = max(1, Int((14 / cellWidth).rounded(.up)))
        for c in Swift.stride(from: 0, to: columns, by: stride) {
            axes.append(
                .text(
                    "\(layerLabels[c])", x: left + (Double(c) + 0.5) * cellWidth,
                    y: top + plotHeight + 14, size: 10, className: "layer-tick"))
        }
        axes.append(
            .text("layer", x: left + plotWidth / 2, y: top + plotHeight + 34, size: 13))
        axes.append(.text(title, x: width / 2, y: 24, size: 14, weight: "bold", className: "title"))
        let barX = left + plotWidth + barGap
        var bar: [SVGElement] = []
        let slices = 48
        for i in 0..<slices {
            let t0 = Double(i) / Double(slices), t1 = Double(i + 1) / Double(slices)
            bar.append(
                .rect(
                    x: barX, y: top + plotHeight * (1 - t1), width: barWidth,
                    height: plotHeight / Double(slices) + 0.5, fill: hex((t0 + t1) / 2)))
        }
        bar.append(
            .rect(x: barX, y: top, width: barWidth, height: plotHeight, fill: "none", stroke: "#333"))
        let barScale = LinearScale(domain: range, range: top...(top + plotHeight), flipped: true)
        let ticks = LinearScale.niceTicks(range.lowerBound, range.upperBound, count: 4)
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        for t in ticks {
            let y = barScale(t)
            bar.append(.line(x1: barX + barWidth, y1: y, x2: barX + barWidth + 4, y2: y))
            bar.append(
                .text(
                    LinearScale.label(t, step: step), x: barX + barWidth + 7, y: y + 4, size: 10,
                    anchor: "start"))
        }
        bar.append(
            .text(
                valueLabel, x: barX + barWidth + 58, y: top + plotHeight / 2, size: 11, rotate: 90))
        return .document(
            width: width, height: height,
            children: [
                .rect(x: 0, y: 0, width: width, height: height, fill: "white"),
                .group(cells, className: "cells"), .group(axes, className: "axes"),
                .group(bar, className: "colorbar"),
            ])
    }

    public func svg() -> String { "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + element().render() }
}
