import Foundation
import LocusRecipes
import XCTest

/// Reports of the component methods (scrub, ablate): references against random sets with
/// empirical p-values, one study per setting, a histogram with the references.
final class ComponentReportTests: XCTestCase {
    func record(_ kind: String, index: Int, value: Double, items: Int = 64, method: String = "scrub") -> RunRecord {
        let set = HeadSet(name: kind, kind: kind, index: index, selection: "\(kind):\(index)", heads: ["L\(index)H0"])
        let spec = RunSpec(
            recipe: "r", variant: "quick", model: "m", data: DataSettings(), method: method, methodName: method,
            parameters: .object(["items": .number(Double(items))]), headSet: set, metrics: ["mc"], seed: 3)
        let key = method == "scrub" ? "lossRecovered" : "effect"
        return RunRecord(
            spec: spec, status: "ok",
            metrics: .object([key: .number(value), key + "CI95": .array([.number(value - 1), .number(value + 1)])]),
            seconds: 1, finished: "t", shard: "0/1")
    }

    func testReferencesGetEmpiricalPValuesAmongTheirStudysRandomSets() throws {
        // Random sets 0.1 … 0.9; top = 0.75 is beaten by 0.8 and 0.9: p = (1 + 2) / (1 + 9).
        var records = (1...9).map { record("random", index: $0, value: Double($0) / 10) }
        records.append(record("top", index: 0, value: 0.75))
        // Another setting is another study, not mixed in.
        records.append(record("random", index: 1, value: 5, items: 8))
        let studies = ComponentStudy.studies(records)
        XCTAssertEqual(studies.count, 2)
        let s = try XCTUnwrap(studies.first { $0.randomValues.count == 9 })
        let top = try XCTUnwrap(s.rows.first { $0.headSet?.kind == "top" })
        XCTAssertEqual(top.pValue!, 3.0 / 10, accuracy: 1e-12)
        XCTAssertEqual(top.interval, [-0.25, 1.75])
        XCTAssertNil(s.rows.first { $0.headSet?.kind == "random" }?.pValue)
        XCTAssertEqual(s.histogram()?.references.map(\.value), [0.75])
        XCTAssertTrue(s.label.contains("loss recovered"))
    }

    func testReportWritesTheTableAndFigureAndSkipsTheTruthInfoTable() throws {
        var records = (1...5).map { record("random", index: $0, value: Double($0), method: "ablate") }
        records.append(record("top", index: 0, value: 9, method: "ablate"))
        let writer = ReportWriter(report: SweepReport(records: records))
        let figures = writer.figures()
        XCTAssertEqual(figures.count, 1)
        XCTAssertTrue(figures[0].svg.contains("<svg"))
        let md = writer.markdown(figures: figures)
        XCTAssertTrue(md.contains("| top (L0H0) | 9.000 | [8.000, 10.000] |"), md)
        XCTAssertTrue(md.contains("0.167 (N = 5)"), md)  // (1 + 0) / (1 + 5)
        XCTAssertFalse(md.contains("Best setting per head set"))
    }
}
