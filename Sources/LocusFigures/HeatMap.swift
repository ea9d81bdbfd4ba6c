/// A heat map of a rows × columns matrix (e.g. probe accuracy by layer × head) with a title,
/// axis labels, tick labels and a colour bar. Row 0 is drawn at the top.
///
///     let map = HeatMap(values: accuracy, title: "Probe accuracy", rowLabel: "layer",
///                       columnLabel: "head")
///     try map.svg().write(to: url, atomically: true, encoding: .utf8)
public struct HeatMap: Sendable {
    /// values[row][column]; NaN cells are drawn grey ("no data").
    public var values: [[Double]]
    public var title: String
    public var rowLabel: String
    public var columnLabel: String
    /// The colour bar's caption (e.g. "validation accuracy").
    public var valueLabel: String
    /// The value range mapped onto the colour map; defaults to the data's min…max.
    public var valueRange: ClosedRange<Double>?
    /// Cells to outline (e.g. the top-K heads), as (row, column).
    public var highlighted: [(row: Int, column: Int)]
    public var colorMap: ColorMap
    public var cellWidth: Double
    public var cellHeight: Double

    public init(
        values: [[Double]], title: String, rowLabel: String, columnLabel: String,
        valueLabel: String = "", valueRange: ClosedRange<Double>? = nil,
        highlighted: [(row: Int, column: Int)] = [], colorMap: ColorMap = .viridis,
        cellWidth: Double = 28, cellHeight: Double = 16
    ) {
        precondition(!values.isEmpty && !values[0].isEmpty, "heat map needs at least one cell")
        precondition(values.allSatisfy { $0.count == values[0].count }, "ragged heat-map rows")
        self.values = values
        self.title = title
        self.rowLabel = rowLabel
        self.columnLabel = columnLabel
        self.valueLabel = valueLabel
        self.valueRange = valueRange
        self.highlighted = highlighted
        self.colorMap = colorMap
        self.cellWidth = cellWidth
        self.cellHeight = cellHeight
    }

    public var rowCount: Int { values.count }
    public var columnCount: Int { values[0].count }

    /// The range the colours span: `valueRange`, else the finite data's min…max.
    public var resolvedRange: ClosedRange<Double> {
        if let valueRange { return valueRange }
        let finite = values.joined().filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return 0...1 }
        return lo == hi ? (lo - 0.5)...(hi + 0.5) : lo...hi
    }

    /// Show every k-th tick label so labels never overlap (≥ 11 px apart).
    static func labelStride(count: Int, spacing: Double) -> Int {
        max(1, Int((11 / spacing).rounded(.up)))
    }

    public func element() -> SVGElement {
        let top = 44.0, barGap = 24.0, barWidth = 14.0, barLabelWidth = 56.0
        let plotWidth = cellWidth * Double(columnCount)
        let plotHeight = cellHeight * Double(rowCount)
        let natural = 64 + plotWidth + barGap + barWidth + barLabelWidth + 24
        // A long title widens the figure (≈ 0.6 em per character); the plot stays centred.
        let titleWidth = Self.estimatedTextWidth(title, size: 15) + 32
        let left = 64 + max(0, titleWidth - natural) / 2
        let width = max(natural, titleWidth)
        let height = top + plotHeight + 50
        let range = resolvedRange
        let color = LinearScale(domain: range, range: 0...1)

        var cells: [SVGElement] = []
        for r in 0..<rowCount {
            for c in 0..<columnCount {
                let v = values[r][c]
                let fill = v.isFinite ? colorMap.hex(color(v)) : "#cccccc"
                var cell = SVGElement.rect(
                    x: left + Double(c) * cellWidth, y: top + Double(r) * cellHeight,
                    width: cellWidth, height: cellHeight, fill: fill,
                    extra: [("class", "cell"), ("data-row", "\(r)"), ("data-column", "\(c)")])
                cell.children = [SVGElement("title", text: "\(rowLabel) \(r), \(columnLabel) \(c): \(v)")]
                cells.append(cell)
            }
        }
        var marks: [SVGElement] = []
        for (r, c) in highlighted where r < rowCount && c < columnCount {
            marks.append(
                .rect(
                    x: left + Double(c) * cellWidth + 1, y: top + Double(r) * cellHeight + 1,
                    width: cellWidth - 2, height: cellHeight - 2, fill: "none", stroke: "#ff2a2a",
                    strokeWidth: 1.5, extra: [("class", "highlight")]))
        }

        var axes: [SVGElement] = []
        let rowStride = Self.labelStride(count: rowCount, spacing: cellHeight)
        for r in stride(from: 0, to: rowCount, by: rowStride) {
            axes.append(
                .text(
                    "\(r)", x: left - 6, y: top + (Double(r) + 0.5) * cellHeight + 4, size: 10,
                    anchor: "end", className: "row-tick"))
        }
        let columnStride = Self.labelStride(count: columnCount, spacing: cellWidth)
        for c in stride(from: 0, to: columnCount, by: columnStride) {
            axes.append(
                .text(
                    "\(c)", x: left + (Double(c) + 0.5) * cellWidth, y: top + plotHeight + 14,
                    size: 10, className: "column-tick"))
        }
        axes.append(
            .text(
                columnLabel, x: left + plotWidth / 2, y: top + plotHeight + 34, size: 13,
                className: "axis-label"))
        axes.append(
            .text(
                rowLabel, x: 18, y: top + plotHeight / 2, size: 13, rotate: -90,
                className: "axis-label"))
        axes.append(
            .text(title, x: width / 2, y: 24, size: 15, weight: "bold", className: "title"))

        // Colour bar: 64 stacked slices, high values at the top, with nice ticks.
        let barX = left + plotWidth + barGap
        let barScale = LinearScale(domain: range, range: top...(top + plotHeight), flipped: true)
        var bar: [SVGElement] = []
        let slices = 64
        for i in 0..<slices {
            let t0 = Double(i) / Double(slices), t1 = Double(i + 1) / Double(slices)
            let y1 = top + plotHeight * (1 - t1)
            bar.append(
                .rect(
                    x: barX, y: y1, width: barWidth, height: plotHeight / Double(slices) + 0.5,
                    fill: colorMap.hex((t0 + t1) / 2), extra: [("class", "colorbar-slice")]))
        }
        bar.append(
            .rect(
                x: barX, y: top, width: barWidth, height: plotHeight, fill: "none", stroke: "#333"))
        let ticks = LinearScale.niceTicks(range.lowerBound, range.upperBound, count: 5)
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        for t in ticks {
            let y = barScale(t)
            bar.append(.line(x1: barX + barWidth, y1: y, x2: barX + barWidth + 4, y2: y))
            bar.append(
                .text(
                    LinearScale.label(t, step: step), x: barX + barWidth + 7, y: y + 4, size: 10,
                    anchor: "start", className: "colorbar-tick"))
        }
        if !valueLabel.isEmpty {
            let x = barX + barWidth + barLabelWidth
            bar.append(
                .text(
                    valueLabel, x: x, y: top + plotHeight / 2, size: 12, rotate: 90,
                    className: "colorbar-label"))
        }

        return .document(
            width: width, height: height,
            children: [
                .rect(x: 0, y: 0, width: width, height: height, fill: "white"),
                .group(cells, className: "cells"), .group(marks, className: "highlights"),
                .group(axes, className: "axes"), .group(bar, className: "colorbar"),
            ])
    }

    /// A rough width of `text` in pixels at `size` (Helvetica averages about 0.6 em a glyph).
    static func estimatedTextWidth(_ text: String, size: Double) -> Double {
        Double(text.count) * size * 0.6
    }

    /// The SVG document text.
    public func svg() -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + element().render()
    }
}
