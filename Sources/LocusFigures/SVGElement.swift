/// A node of an SVG document: an element with ordered attributes, children and text.
///
/// Figures build a tree of these and print it; nothing here knows about data. Numbers are
/// printed with at most two decimals so files stay small and diffs stay readable.
public struct SVGElement: Equatable, Sendable {
    public var name: String
    public var attributes: [(String, String)]
    public var children: [SVGElement]
    public var text: String?

    public init(
        _ name: String, _ attributes: [(String, String)] = [], children: [SVGElement] = [],
        text: String? = nil
    ) {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    public static func == (a: SVGElement, b: SVGElement) -> Bool {
        a.name == b.name && a.text == b.text && a.children == b.children
            && a.attributes.count == b.attributes.count
            && zip(a.attributes, b.attributes).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    /// The element and its children as indented XML.
    public func render(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent)
        var s = pad + "<" + name
        for (k, v) in attributes { s += " \(k)=\"\(Self.escape(v))\"" }
        if children.isEmpty && text == nil { return s + "/>\n" }
        s += ">"
        if let text { s += Self.escape(text) }
        if !children.isEmpty {
            s += "\n"
            for child in children { s += child.render(indent: indent + 1) }
            s += pad
        }
        return s + "</\(name)>\n"
    }

    /// XML escaping of text and attribute values.
    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

/// Short number formatting for coordinates and labels.
public func svgNumber(_ x: Double) -> String {
    guard x.isFinite else { return "0" }
    let r = (x * 100).rounded() / 100
    if r == r.rounded() { return String(Int(r)) }
    var s = String(format: "%.2f", r)
    while s.hasSuffix("0") { s.removeLast() }
    return s
}

extension SVGElement {
    /// The root `<svg>` element of a `width`×`height` document.
    public static func document(width: Double, height: Double, children: [SVGElement]) -> SVGElement {
        SVGElement(
            "svg",
            [
                ("xmlns", "http://www.w3.org/2000/svg"), ("width", svgNumber(width)),
                ("height", svgNumber(height)),
                ("viewBox", "0 0 \(svgNumber(width)) \(svgNumber(height))"),
                ("font-family", "Helvetica, Arial, sans-serif"),
            ], children: children)
    }

    public static func rect(
        x: Double, y: Double, width: Double, height: Double, fill: String,
        stroke: String? = nil, strokeWidth: Double = 1, extra: [(String, String)] = []
    ) -> SVGElement {
        var a: [(String, String)] = [
            ("x", svgNumber(x)), ("y", svgNumber(y)), ("width", svgNumber(width)),
            ("height", svgNumber(height)), ("fill", fill),
        ]
        if let stroke { a += [("stroke", stroke), ("stroke-width", svgNumber(strokeWidth))] }
        return SVGElement("rect", a + extra)
    }

    public static func line(
        x1: Double, y1: Double, x2: Double, y2: Double, stroke: String = "#333",
        width: Double = 1
    ) -> SVGElement {
        SVGElement(
            "line",
            [
                ("x1", svgNumber(x1)), ("y1", svgNumber(y1)), ("x2", svgNumber(x2)),
                ("y2", svgNumber(y2)), ("stroke", stroke), ("stroke-width", svgNumber(width)),
            ])
    }

    /// Text anchored at (x, y); `anchor` is start, middle or end; `rotate` in degrees about (x, y).
    public static func text(
        _ content: String, x: Double, y: Double, size: Double = 12, anchor: String = "middle",
        weight: String? = nil, rotate: Double? = nil, className: String? = nil
    ) -> SVGElement {
        var a: [(String, String)] = [
            ("x", svgNumber(x)), ("y", svgNumber(y)), ("font-size", svgNumber(size)),
            ("text-anchor", anchor),
        ]
        if let weight { a.append(("font-weight", weight)) }
        if let rotate {
            a.append(("transform", "rotate(\(svgNumber(rotate)) \(svgNumber(x)) \(svgNumber(y)))"))
        }
        if let className { a.append(("class", className)) }
        return SVGElement("text", a, text: content)
    }

    public static func group(_ children: [SVGElement], className: String? = nil) -> SVGElement {
        SVGElement("g", className.map { [("class", $0)] } ?? [], children: children)
    }
}
