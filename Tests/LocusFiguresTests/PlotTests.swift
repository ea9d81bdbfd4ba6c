import Foundation
import LocusFigures
import XCTest

final class PlotTests: XCTestCase {
    func svgWidth(_ svg: String) throws -> Double {
        let tag = try XCTUnwrap(svg.range(of: "<svg").map { svg[$0.lowerBound...] })
        let w = try XCTUnwrap(tag.range(of: "width=\"")).upperBound
        return try XCTUnwrap(Double(tag[w...].prefix { $0 != "\"" }))
    }

    func testLongHistogramTitlesAndNotesWidenTheFigure() throws {
        let values = [0.4, 0.45, 0.5, 0.52, 0.6]
        let short = Histogram(values: values, title: "t", xLabel: "x")
        XCTAssertEqual(try svgWidth(short.svg()), 640)
        let title = "wv-fig7-quick: best True×Info over the grid, ipo-single random single heads (N = 8)"
        let long = Histogram(values: values, title: title, xLabel: "x")
        XCTAssertGreaterThanOrEqual(try svgWidth(long.svg()), Double(title.count) * 14 * 0.6 + 32)
        // The title stays centred on the widened figure.
        XCTAssertTrue(long.svg().contains("x=\"\(svgNumber(long.figureWidth / 2))\""))
        let note = String(repeating: "p-value note ", count: 9)
        XCTAssertGreaterThan(Histogram(values: values, title: "t", xLabel: "x", annotations: [note]).figureWidth, 640)
    }

    func testLongLinePlotTitlesWidenTheFigure() throws {
        let series = [LinePlot.Series(name: "a", points: [.init(x: 0, y: 1), .init(x: 1, y: 2)], color: "#f00")]
        let short = LinePlot(series: series, title: "p", xLabel: "x", yLabel: "y")
        let title = String(repeating: "a very long title ", count: 8)
        let long = LinePlot(series: series, title: title, xLabel: "x", yLabel: "y")
        XCTAssertEqual(try svgWidth(short.svg()), 720 + short.legend.width + 16)
        XCTAssertGreaterThanOrEqual(try svgWidth(long.svg()), Double(title.count) * 14 * 0.6 + 32)
    }
}

extension PlotTests {
    func testLabelsOfCoincidentPointsAreJoined() {
        let plot = LinePlot(
            series: [.init(
                name: "top", points: [.init(x: 0.95, y: 0.5, label: "τ=0.1"), .init(x: 0.95, y: 0.5, label: "τ=0.3"),
                                      .init(x: 0.9, y: 0.6, label: "τ=0.5")],
                color: "#f00", labelPoints: true)],
            title: "t", xLabel: "x", yLabel: "y")
        let labels = plot.svg().components(separatedBy: "class=\"point-label\"").dropFirst()
            .map { $0.drop { $0 != ">" }.dropFirst().prefix { $0 != "<" } }.map(String.init)
        XCTAssertEqual(labels, ["τ=0.1, τ=0.3", "τ=0.5"])
        // Every point is still drawn.
        XCTAssertEqual(plot.svg().components(separatedBy: "class=\"point\"").count - 1, 3)
    }
}

extension PlotTests {
    func testAReferenceEqualToTheExtremeValueIsDrawnInsideTheFrame() {
        for (values, ref) in [([0.475, 0.5, 0.52, 0.57], 0.475), ([0.4, 0.45, 0.5], 0.5), ([0.4, 0.45, 0.5], 0.7)] {
            let e = Histogram(values: values, title: "t", xLabel: "x", references: [.init(value: ref, label: "top")]).edges
            XCTAssertLessThan(e.first!, ref, "\(values) \(ref)")
            XCTAssertGreaterThan(e.last!, ref, "\(values) \(ref)")
            XCTAssertLessThanOrEqual(e.first!, values.min()!)
            XCTAssertGreaterThanOrEqual(e.last!, values.max()!)
        }
    }
}

extension PlotTests {
    func testLabelsOfDifferentSeriesAtOnePlaceAreStacked() {
        let plot = LinePlot(
            series: [
                .init(name: "iti", points: [.init(x: 0.95, y: 0.55, label: "α=0"), .init(x: 1, y: 0.5, label: "α=5")],
                      color: "#009e73", labelPoints: true),
                .init(name: "ipo", points: [.init(x: 0.95, y: 0.55, label: "τ=0.3")], color: "#0072b2", labelPoints: true),
            ],
            title: "t", xLabel: "x", yLabel: "y")
        let svg = plot.svg()
        func label(_ text: String) -> (y: Double, fill: String)? {
            guard let r = svg.range(of: ">\(text)</text>") else { return nil }
            let tag = svg[..<r.lowerBound].components(separatedBy: "<text").last!
            func attr(_ a: String) -> String { tag.components(separatedBy: " \(a)=\"").dropFirst().first?.prefix { $0 != "\"" }.description ?? "" }
            return (Double(attr("y")) ?? .nan, attr("fill"))
        }
        let a = label("α=0"), t = label("τ=0.3")
        XCTAssertEqual(a?.fill, "#009e73")
        XCTAssertEqual(t?.fill, "#0072b2")
        XCTAssertEqual(abs((a?.y ?? 0) - (t?.y ?? 0)), 11, accuracy: 0.01)
    }
}

extension PlotTests {
    func testCountTicksAreWholeNumbers() {
        for values in [[0.475, 0.56], [0.4, 0.5, 0.5, 0.6], (0..<50).map { Double($0 % 7) }] {
            let svg = Histogram(values: values, title: "t", xLabel: "x").svg()
            let ticks = svg.components(separatedBy: "class=\"y-tick\">").dropFirst().map { String($0.prefix { $0 != "<" }) }
            XCTAssertFalse(ticks.isEmpty)
            for t in ticks { XCTAssertNotNil(Int(t), "\(values): tick \(t)") }
        }
    }
}
