/// A legend box: one row per entry, with a line, a marker, or both, in the entry's colour.
public struct Legend: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var label: String
        public var color: String
        public var line: Bool
        public var marker: Bool
        public var dashed: Bool
        public init(label: String, color: String, line: Bool = true, marker: Bool = true, dashed: Bool = false) {
            self.label = label
            self.color = color
            self.line = line
            self.marker = marker
            self.dashed = dashed
        }
    }

    public var entries: [Entry]
    public init(entries: [Entry]) { self.entries = entries }

    /// Width needed for the longest label at 11 px (≈ 6 px per character).
    public var width: Double { 38 + 6.2 * Double(entries.map(\.label.count).max() ?? 0) }
    public var height: Double { 8 + 16 * Double(entries.count) }

    public func element(x: Double, y: Double) -> SVGElement {
        var items: [SVGElement] = [
            .rect(x: x, y: y, width: width, height: height, fill: "white", stroke: "#bbbbbb",
                  extra: [("fill-opacity", "0.9")])
        ]
        for (i, e) in entries.enumerated() {
            let cy = y + 12 + 16 * Double(i)
            if e.line {
                var l = SVGElement.line(x1: x + 6, y1: cy, x2: x + 28, y2: cy, stroke: e.color, width: 2)
                if e.dashed { l.attributes.append(("stroke-dasharray", "5 3")) }
                items.append(l)
            }
            if e.marker { items.append(.circle(x: x + 17, y: cy, r: 3.5, fill: e.color)) }
            items.append(.text(e.label, x: x + 34, y: cy + 4, size: 11, anchor: "start", className: "legend-label"))
        }
        return .group(items, className: "legend")
    }
}

extension SVGElement {
    public static func circle(x: Double, y: Double, r: Double, fill: String, extra: [(String, String)] = [])
        -> SVGElement
    {
        SVGElement(
            "circle", [("cx", svgNumber(x)), ("cy", svgNumber(y)), ("r", svgNumber(r)), ("fill", fill)] + extra)
    }

    /// An open polyline through the points.
    public static func polyline(
        _ points: [(Double, Double)], stroke: String, width: Double = 1.5, dashed: Bool = false,
        opacity: Double = 1, extra: [(String, String)] = []
    ) -> SVGElement {
        var a: [(String, String)] = [
            ("points", points.map { "\(svgNumber($0.0)),\(svgNumber($0.1))" }.joined(separator: " ")),
            ("fill", "none"), ("stroke", stroke), ("stroke-width", svgNumber(width)),
        ]
        if dashed { a.append(("stroke-dasharray", "5 3")) }
        if opacity < 1 { a.append(("stroke-opacity", svgNumber(opacity))) }
        return SVGElement("polyline", a + extra)
    }
}
