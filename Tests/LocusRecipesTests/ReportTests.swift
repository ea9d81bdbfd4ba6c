import Foundation
import LocusCore
import LocusFigures
import LocusRecipes
import XCTest

final class ReportTests: XCTestCase {
    func testEmpiricalPValueAndBootstrap() {
        XCTAssertEqual(Statistics.empiricalPValue(observed: 0.5, null: [0.1, 0.2, 0.6, 0.5]), 3.0 / 5)
        XCTAssertEqual(Statistics.empiricalPValue(observed: 0.9, null: Array(repeating: 0.1, count: 49)), 1.0 / 50)
        let x = (0..<40).map { Double($0 % 7) }
        let a = Statistics.meanInterval(x, seed: 3)!, b = Statistics.meanInterval(x, seed: 3)!
        XCTAssertEqual(a, b)
        XCTAssertTrue(a.contains(Statistics.mean(x)))
        XCTAssertLessThan(a.upperBound - a.lowerBound, 2)
        XCTAssertNotEqual(Statistics.meanInterval(x, seed: 4), a)
        let ti = RecipeAnalysis.truthTimesInfoInterval(truth: [1, 0, 1, 1], info: [1, 1, 1, 0])!
        XCTAssertTrue(ti.lowerBound >= 0 && ti.upperBound <= 1)
    }

    /// The one-table section (Hase, interchange): the table then the note, in markdown and in
    /// HTML with the note escaped, and its one figure.
    func testTableSectionAssemblesMarkdownHTMLAndFigure() {
        let figure = ReportFigure(file: "r-x.svg", caption: "c", svg: "<svg/>")
        let section = ReportSection(
            title: "T", header: ["layer", "rate"], rows: [["0", "0.50"], ["1", "0.25"]],
            note: "a < b & c", figure: figure, summary: ["n": 2])
        XCTAssertEqual(section.title, "T")
        XCTAssertEqual(
            section.markdown, ReportWriter.markdownTable(["layer", "rate"], [["0", "0.50"], ["1", "0.25"]]) + "\na < b & c\n")
        XCTAssertEqual(
            section.html,
            ReportWriter.htmlTable(["layer", "rate"], [["0", "0.50"], ["1", "0.25"]])
                + "<p class=\"note\">a &lt; b &amp; c</p>\n")
        XCTAssertTrue(section.markdown.contains("| 1 | 0.25 |"), section.markdown)
        XCTAssertEqual(section.figures.map(\.file), ["r-x.svg"])
        XCTAssertEqual(section.summary, ["n": 2])
    }

    func records() throws -> [RunRecord] {
        let url = try temporaryDirectory("records").appendingPathComponent("r.jsonl")
        try SweepRunner(runs: try sampleRuns(), results: try ResultsFile(url: url), executor: fakeExecutor).run()
        return try ResultsFile.read(url).records
    }

    func testReductionAndTests() throws {
        let report = SweepReport(records: try records())
        XCTAssertEqual(report.recipes.count, 1)
        let a = report.recipes[0]
        // iti: 10 head sets; ipo: 4.
        XCTAssertEqual(a.series.count, 14)
        XCTAssertTrue(a.series.allSatisfy { $0.axis == ($0.method == "iti" ? "alpha" : "tau") })
        let itiRandom = a.tests.first { $0.methodName == "iti" && $0.family == "iti/random" }!
        XCTAssertEqual(itiRandom.values.count, 6)
        let top = itiRandom.references.first!
        XCTAssertEqual(top.label, "iti top-4 (probe ranking)")
        let topSeries = a.series.first { $0.methodName == "iti" && $0.headSet?.kind == "top" }!
        let manualBest = topSeries.points.compactMap { $0.metric("truth_times_info") }.max()!
        XCTAssertEqual(top.value, manualBest)
        XCTAssertEqual(top.pValue, Double(1 + itiRandom.values.filter { $0 >= manualBest }.count) / 7)
        XCTAssertNotNil(top.interval)
        // ipo has single heads against top.
        XCTAssertNotNil(a.tests.first { $0.family == "ipo/single" })
    }

    func testSingleHeadsOfTheirOwnMethodAreTestedAgainstTheTopSetOfTheSameKind() throws {
        // Figure 7's layout: top-4 under "ipo", single heads under "ipo-single" (own learning rate).
        let json = sampleRecipeJSON(name: "fig7").replacingOccurrences(
            of: #"{"kind": "ipo", "tau": [0.1, 0.3], "headSets": ["top", "single"]}"#,
            with: #"{"kind": "ipo", "tau": [0.1, 0.3], "headSets": ["top"]}, {"kind": "ipo", "name": "ipo-single", "tau": [0.1, 0.3], "lr": [0.008], "headSets": ["single"]}"#)
        let runs = try RecipeExpansion.runs(try Recipe.parse(try JSONValue.parse(json)), shape: smallShape, rankings: fakeRankings)
        XCTAssertTrue(runs.contains { $0.methodName == "ipo-single" })
        let url = try temporaryDirectory().appendingPathComponent("r.jsonl")
        try SweepRunner(runs: runs, results: try ResultsFile(url: url), executor: fakeExecutor).run()
        let a = SweepReport(records: try ResultsFile.read(url).records).recipes[0]
        let single = try XCTUnwrap(a.tests.first { $0.family == "ipo-single/single" })
        XCTAssertEqual(single.values.count, 3)
        XCTAssertEqual(single.references.map(\.label), ["ipo top-4 (probe ranking)"])
        let topBest = try XCTUnwrap(a.series.first { $0.methodName == "ipo" && $0.headSet?.kind == "top" }?.bestValue)
        XCTAssertEqual(single.references[0].value, topBest)
        XCTAssertEqual(single.references[0].pValue, Statistics.empiricalPValue(observed: topBest, null: single.values))
        // ITI's random sets still only meet ITI's own top set.
        XCTAssertEqual(a.tests.first { $0.family == "iti/random" }?.references.map(\.family), ["iti/top"])
    }

    func testRecipesSharingRunsKeepTheirRecordsInAJointReport() throws {
        // Figure 2's runs are copies of figure 1's (same run IDs); reported together, both
        // recipes keep every run (the report deduplicates within a recipe only).
        let dir = try temporaryDirectory()
        let one = dir.appendingPathComponent("one.jsonl"), two = dir.appendingPathComponent("two.jsonl")
        try SweepRunner(runs: try sampleRuns(name: "one"), results: try ResultsFile(url: one), executor: fakeExecutor).run()
        let runner = SweepRunner(runs: try sampleRuns(name: "two"), results: try ResultsFile(url: two), executor: fakeExecutor)
        for r in try ResultsFile.read(one).records { runner.reusable[r.runID] = r }
        XCTAssertEqual(try runner.run().reused, try sampleRuns().count)
        let joint = try SweepReport.load([one, two])
        XCTAssertEqual(joint.recipes.map(\.name), ["one", "two"])
        XCTAssertEqual(joint.records.count, 2 * (try sampleRuns().count))
        let alone = try SweepReport.load([two]).recipes[0]
        XCTAssertEqual(joint.recipes[1].tests.map(\.values), alone.tests.map(\.values))
        // A shard file read twice still counts once.
        XCTAssertEqual(try SweepReport.load([one, one]).records.count, try sampleRuns().count)
    }

    func testPointsOnAClampedBoundStayInsideTheFrame() throws {
        // The fake metrics have KL = 0 at α = 0 and info up to 1.
        let figures = ReportWriter(report: SweepReport(records: try records())).figures()
        for name in ["tiny-kl-mc2.svg", "tiny-truth-info.svg"] {
            let svg = try XCTUnwrap(figures.first { $0.file == name }?.svg)
            func numbers(_ attribute: String, after marker: String) -> [Double] {
                svg.components(separatedBy: marker).dropFirst().compactMap { chunk in
                    chunk.range(of: attribute + "=\"").flatMap { Double(chunk[$0.upperBound...].prefix { $0 != "\"" }) }
                }
            }
            // The plot frame: the rect drawn with fill none and the axis colour.
            let frame = " " + (try XCTUnwrap(
                svg.components(separatedBy: "<rect ").map { $0.components(separatedBy: "/>")[0] }
                    .first { $0.contains("fill=\"none\" stroke=\"#333\"") }))
            func attr(_ a: String) throws -> Double {
                let r = try XCTUnwrap(frame.range(of: " " + a + "=\""))
                return try XCTUnwrap(Double(frame[r.upperBound...].prefix { $0 != "\"" }))
            }
            let left = try attr("x"), right = left + (try attr("width"))
            let top = try attr("y"), bottom = top + (try attr("height"))
            let xs = numbers("cx", after: "<circle"), ys = numbers("cy", after: "<circle")
            XCTAssertFalse(xs.isEmpty)
            // Points (not legend markers, which sit right of the frame) are strictly inside.
            for (x, y) in zip(xs, ys) where x <= right + 1 {
                XCTAssertGreaterThan(x, left + 2, name)
                XCTAssertLessThan(x, right - 2, name)
                XCTAssertGreaterThan(y, top + 2, name)
                XCTAssertLessThan(y, bottom - 2, name)
            }
        }
    }

    func testARecipeDrawsOnlyTheFiguresOfItsMetricGroups() throws {
        // Figure 3 asks for MC and CE/KL; its runs copied from figure 2 also carry truth/info.
        let dir = try temporaryDirectory()
        let one = dir.appendingPathComponent("one.jsonl"), three = dir.appendingPathComponent("three.jsonl")
        try SweepRunner(runs: try sampleRuns(name: "one"), results: try ResultsFile(url: one), executor: fakeExecutor).run()
        let runs = try sampleRuns(name: "three", metrics: ["mc", "sideEffects"])
        let runner = SweepRunner(runs: runs, results: try ResultsFile(url: three), executor: fakeExecutor)
        for r in try ResultsFile.read(one).records { runner.reusable[r.runID] = r }
        try runner.run()
        let files = ReportWriter(report: try SweepReport.load([one, three])).figures().map(\.file)
        XCTAssertEqual(files.filter { $0.hasPrefix("three-") }, ["three-kl-mc2.svg"])
        XCTAssertEqual(Set(files.filter { $0.hasPrefix("one-") }).count, 5, "\(files)")
    }

    func testFiguresCarryDataAndSubstituteLabels() throws {
        let report = SweepReport(records: try records())
        let figures = ReportWriter(report: report).figures()
        let names = figures.map(\.file)
        XCTAssertTrue(names.contains("tiny-iti-random-histogram.svg"), "\(names)")
        XCTAssertTrue(names.contains("tiny-truth-info.svg"))
        XCTAssertTrue(names.contains("tiny-kl-mc2.svg"))
        let hist = figures.first { $0.file == "tiny-iti-random-histogram.svg" }!.svg
        let test = report.recipes[0].tests.first { $0.family == "iti/random" }!
        // One reference line at the top value, bars whose counts sum to N, a p-value note.
        XCTAssertTrue(hist.contains("class=\"reference\" data-value=\"\(svgNumber4(test.references[0].value))\""))
        let counts = hist.components(separatedBy: "data-count=\"").dropFirst().map { Int($0.prefix { $0.isNumber })! }
        XCTAssertEqual(counts.reduce(0, +), 6)
        XCTAssertTrue(hist.contains("p = \(ReportWriter.fmt(test.references[0].pValue))"))
        XCTAssertTrue(hist.contains("offline substitutes"))
        let tradeoff = figures.first { $0.file == "tiny-truth-info.svg" }!.svg
        XCTAssertTrue(tradeoff.contains("truth (BLEU-acc, offline substitute for GPT-judge)"))
        XCTAssertTrue(tradeoff.contains("info (non-refusal, offline substitute for GPT-info)"))
        XCTAssertEqual(tradeoff.components(separatedBy: "class=\"series\"").count - 1, 14)
        XCTAssertEqual(tradeoff.components(separatedBy: "class=\"point\"").count - 1, 38)
        // Legend: one entry per family, not per random set.
        XCTAssertEqual(tradeoff.components(separatedBy: "class=\"legend-label\"").count - 1, 5)
    }

    func testHistogramBinsAndLinePlotStructure() {
        let h = Histogram(values: [0, 1, 1, 2, 3, 3, 3, 4], title: "t", xLabel: "x", references: [.init(value: 3.5, label: "top")], binCount: 4)
        XCTAssertEqual(h.edges, [0, 1, 2, 3, 4])
        XCTAssertEqual(h.counts, [1, 2, 1, 4])
        let svg = h.svg()
        XCTAssertEqual(svg.components(separatedBy: "class=\"bar\"").count - 1, 4)
        XCTAssertTrue(svg.contains("top = 3.5"))
        let plot = LinePlot(
            series: [.init(name: "a", points: [.init(x: 0, y: 1), .init(x: 1, y: 2)], color: "#f00"),
                     .init(name: "b", points: [.init(x: 0.5, y: 0.5)], color: "#00f", connect: false)],
            title: "p", xLabel: "x", yLabel: "y")
        let p = plot.svg()
        XCTAssertEqual(p.components(separatedBy: "<polyline").count - 1, 1)
        XCTAssertEqual(p.components(separatedBy: "class=\"point\"").count - 1, 3)
        XCTAssertEqual(plot.legend.entries.map(\.label), ["a", "b"])
    }

    func testShardedResultsGiveTheSameReport() throws {
        let dir = try temporaryDirectory()
        let runs = try sampleRuns()
        let whole = dir.appendingPathComponent("whole.jsonl")
        try SweepRunner(runs: runs, results: try ResultsFile(url: whole), executor: fakeExecutor).run()
        var shardFiles: [URL] = []
        for i in (0..<3).reversed() {
            let url = dir.appendingPathComponent("shard\(i).jsonl")
            let s = try SweepRunner(runs: runs, results: try ResultsFile(url: url), shard: Shard(index: i, count: 3), executor: fakeExecutor).run()
            XCTAssertGreaterThan(s.completed, 0)
            shardFiles.append(url)
        }
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
        try ReportWriter(report: try SweepReport.load([whole])).write(to: a)
        // A shard listed twice (a rerun copy) must not change anything either.
        try ReportWriter(report: try SweepReport.load(shardFiles + [shardFiles[0]])).write(to: b)
        let files = try FileManager.default.subpathsOfDirectory(atPath: a.path).sorted()
        XCTAssertEqual(files, try FileManager.default.subpathsOfDirectory(atPath: b.path).sorted())
        XCTAssertTrue(files.contains("report.html") && files.contains("report.md") && files.contains("summary.json"))
        for f in files where f.contains(".") {
            XCTAssertEqual(
                try Data(contentsOf: a.appendingPathComponent(f)), try Data(contentsOf: b.appendingPathComponent(f)), f)
        }
        let html = try String(contentsOf: a.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<svg"))
        XCTAssertFalse(html.contains("<img"))
    }
}
