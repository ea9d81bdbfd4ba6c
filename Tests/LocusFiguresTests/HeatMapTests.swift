import Foundation
import LocusFigures
import XCTest

#if canImport(FoundationXML)
    import FoundationXML
#endif

final class HeatMapTests: XCTestCase {
    func makeMap() -> HeatMap {
        var values: [[Double]] = []
        for l in 0..<30 {
            values.append((0..<9).map { h -> Double in 0.5 + 0.01 * Double(l) + 0.002 * Double(h) })
        }
        return HeatMap(
            values: values, title: "Probe accuracy <by head>", rowLabel: "layer",
            columnLabel: "head", valueLabel: "validation accuracy", highlighted: [(29, 8), (3, 1)])
    }

    func testSVGParsesAsXMLWithOneCellPerValueAndLabels() throws {
        let svg = makeMap().svg()
        let doc = try XMLDocument(xmlString: svg, options: [])
        let root = try XCTUnwrap(doc.rootElement())
        XCTAssertEqual(root.name, "svg")
        let cells = try root.nodes(forXPath: "//*[local-name()='rect'][@class='cell']")
        XCTAssertEqual(cells.count, 270)
        let highlights = try root.nodes(forXPath: "//*[local-name()='rect'][@class='highlight']")
        XCTAssertEqual(highlights.count, 2)
        let texts = try root.nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue)
        XCTAssertTrue(texts.contains("Probe accuracy <by head>"))  // escaped and parsed back
        XCTAssertTrue(texts.contains("layer"))
        XCTAssertTrue(texts.contains("head"))
        XCTAssertTrue(texts.contains("validation accuracy"))
        let rowTicks = try root.nodes(forXPath: "//*[local-name()='text'][@class='row-tick']")
        XCTAssertEqual(rowTicks.count, 30)
        let columnTicks = try root.nodes(forXPath: "//*[local-name()='text'][@class='column-tick']")
        XCTAssertEqual(columnTicks.count, 9)
        let barTicks = try root.nodes(forXPath: "//*[local-name()='text'][@class='colorbar-tick']")
        XCTAssertGreaterThanOrEqual(barTicks.count, 3)
    }

    func testLongTitlesWidenTheFigure() throws {
        let short = HeatMap(values: [[0, 1]], title: "t", rowLabel: "r", columnLabel: "c")
        let long = HeatMap(
            values: [[0, 1]], title: String(repeating: "wide title ", count: 10), rowLabel: "r",
            columnLabel: "c")
        func width(_ map: HeatMap) throws -> Double {
            let doc = try XMLDocument(xmlString: map.svg(), options: [])
            let width = try doc.nodes(forXPath: "/*[local-name()='svg']/@width").first?.stringValue
            let text = try XCTUnwrap(width)
            return try XCTUnwrap(Double(text), text)
        }
        XCTAssertGreaterThan(try width(long), 110 * 15 * 0.6)
        XCTAssertLessThan(try width(short), try width(long))
    }

    func testColoursFollowValues() throws {
        let map = HeatMap(values: [[0, 1], [Double.nan, 0.5]], title: "t", rowLabel: "r", columnLabel: "c")
        let svg = map.svg()
        XCTAssertTrue(svg.contains(ColorMap.viridis.hex(0)))
        XCTAssertTrue(svg.contains(ColorMap.viridis.hex(1)))
        XCTAssertTrue(svg.contains("#cccccc"))  // NaN cell
        XCTAssertEqual(ColorMap.viridis.hex(0), "#440154")
        XCTAssertEqual(ColorMap.viridis.hex(1), "#fde725")
        XCTAssertEqual(ColorMap.viridis.hex(-3), ColorMap.viridis.hex(0))
    }

    func testNiceTicks() {
        XCTAssertEqual(LinearScale.niceTicks(0.5, 0.82, count: 5), [0.5, 0.6, 0.7, 0.8])
        XCTAssertEqual(LinearScale.niceTicks(0.52, 0.71, count: 5), [0.55, 0.6, 0.65, 0.7])
        XCTAssertEqual(LinearScale.niceTicks(0, 10, count: 5), [0, 2, 4, 6, 8, 10])
        // A coarse step that would leave one tick steps down until two fit (a colour bar over
        // p = 0.0096…0.92 showed a lone, mislabelled "0").
        XCTAssertEqual(LinearScale.niceTicks(0.0096, 0.9186, count: 4), [0.2, 0.4, 0.6, 0.8])
        XCTAssertEqual(LinearScale.niceTicks(0.41, 0.58, count: 1), [0.45, 0.5, 0.55])
        XCTAssertEqual(LinearScale.label(0.55, step: 0.05), "0.55")
        XCTAssertEqual(LinearScale.label(4, step: 2), "4")
        let y = LinearScale(domain: 0...1, range: 10...110, flipped: true)
        XCTAssertEqual(y(0), 110)
        XCTAssertEqual(y(1), 10)
    }

    func testRendersToPNGWhenRsvgIsInstalled() throws {
        // Looking at the figure is part of the job; the PNG is written for a human to open.
        let tool = "/usr/bin/rsvg-convert"
        guard FileManager.default.isExecutableFile(atPath: tool) else { return }
        let dir = FileManager.default.temporaryDirectory
        let svgURL = dir.appendingPathComponent("locus-heatmap-test.svg")
        try makeMap().svg().write(to: svgURL, atomically: true, encoding: .utf8)
        let png = dir.appendingPathComponent("locus-heatmap-test.png")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = ["-o", png.path, svgURL.path]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertGreaterThan(try Data(contentsOf: png).count, 1000)
    }
}
