import LocusCore
import Foundation
import LocusRecipes
import XCTest

/// A sweep without generation (MC only) ranks settings by MC2, not by the first point, and its
/// localization test compares best MC2 values; with generation, True×Info decides.
final class CriterionTests: XCTestCase {
    func record(_ kind: String, index: Int, alpha: Double, metrics: [String: Double]) -> RunRecord {
        let set = HeadSet(name: kind, kind: kind, index: index, selection: "\(kind):\(index)", heads: ["L\(index)H1"])
        let spec = RunSpec(
            recipe: "mc-only", variant: "quick", model: "m", data: DataSettings(), method: "iti", methodName: "iti",
            parameters: .object(["alpha": .number(alpha)]), headSet: set, metrics: ["mc"], seed: 0)
        return RunRecord(
            spec: spec, status: "ok", metrics: JSONValue(metrics.mapValues(JSONValue.number)), seconds: 1,
            finished: "t", shard: "0/1")
    }

    func testMCOnlySweepsUseMC2() throws {
        var records: [RunRecord] = []
        for (alpha, mc2) in [(0.0, 0.40), (10, 0.55), (20, 0.50)] {
            records.append(record("top", index: 0, alpha: alpha, metrics: ["mc2": mc2]))
        }
        for i in 1...4 {
            for alpha in [0.0, 10, 20] {
                records.append(record("random", index: i, alpha: alpha, metrics: ["mc2": 0.40 + Double(i) * alpha / 400]))
            }
        }
        let report = SweepReport(records: records)
        let top = try XCTUnwrap(report.recipes[0].series.first { $0.headSet?.kind == "top" })
        XCTAssertEqual(top.criterion, "mc2")
        XCTAssertEqual(top.best?.spec.parameters["alpha"], .number(10))
        XCTAssertEqual(top.bestValue, 0.55)
        let test = try XCTUnwrap(report.recipes[0].tests.first)
        XCTAssertEqual(test.criterion, "mc2")
        // Random bests: 0.45, 0.50, 0.55, 0.60 → two at least 0.55: p = 3/5.
        XCTAssertEqual(test.references.first?.pValue ?? -1, 3.0 / 5, accuracy: 1e-12)
        // The MC-only sweep still draws its localization histogram, labelled with MC2.
        let histograms = ReportWriter(report: report).figures().filter { $0.file.hasSuffix("histogram.svg") }
        XCTAssertEqual(histograms.count, 1)
        XCTAssertTrue(histograms.first?.svg.contains("best MC2") ?? false)
        let md = ReportWriter(report: report).markdown(figures: [])
        XCTAssertTrue(md.contains("α=10 (by MC2)"), md)
    }

    func testGenerationRunsUseTrueTimesInfo() {
        let r = [
            record("top", index: 0, alpha: 0, metrics: ["mc2": 0.9, "truth_times_info": 0.2]),
            record("top", index: 0, alpha: 10, metrics: ["mc2": 0.1, "truth_times_info": 0.3]),
        ]
        let s = SweepReport(records: r).recipes[0].series[0]
        XCTAssertEqual(s.criterion, "truth_times_info")
        XCTAssertEqual(s.best?.spec.parameters["alpha"], .number(10))
    }
}

/// Recipes with judge checkpoints (`data.truthJudge` / `data.infoJudge`): both or neither, part
/// of the run identity only when set, and their records reported under the judges' names.
final class JudgedRecipeTests: XCTestCase {
    func testJudgeKeysParseTogether() throws {
        func parse(_ data: String) throws -> Recipe {
            try Recipe.parse(try JSONValue.parse(#"{"name": "j", "data": \#(data), "methods": [{"kind": "trace"}]}"#))
        }
        let judged = try parse(#"{"truthJudge": "judges/truth.gguf", "infoJudge": "judges/info.gguf"}"#)
        XCTAssertEqual(judged.data.truthJudge, "judges/truth.gguf")
        XCTAssertEqual(judged.data.json["infoJudge"], .string("judges/info.gguf"))
        XCTAssertNil(try parse("{}").data.json["truthJudge"], "recipes without judges keep their run identity")
        XCTAssertThrowsError(try parse(#"{"truthJudge": "t.gguf"}"#)) { error in
            XCTAssertTrue("\(error)".contains("data.infoJudge") && "\(error)".contains("go together"), "\(error)")
        }
    }

    func record(_ kind: String, index: Int, alpha: Double, metrics: [String: Double]) -> RunRecord {
        let set = HeadSet(name: kind, kind: kind, index: index, selection: "\(kind):\(index)", heads: ["L\(index)H1"])
        let spec = RunSpec(
            recipe: "judged", variant: "quick", model: "m", data: DataSettings(), method: "iti", methodName: "iti",
            parameters: .object(["alpha": .number(alpha)]), headSet: set, metrics: ["generation"], seed: 0)
        return RunRecord(
            spec: spec, status: "ok", metrics: JSONValue(metrics.mapValues(JSONValue.number)), seconds: 1,
            finished: "t", shard: "0/1")
    }

    func testJudgedRecordsAreReportedAsTheJudges() {
        let r = [
            record("top", index: 0, alpha: 0, metrics: [
                "truth_times_info": 0.9, "truth_times_info_judge": 0.2, "truth_judge": 0.4, "info_judge": 0.5]),
            record("top", index: 0, alpha: 10, metrics: [
                "truth_times_info": 0.1, "truth_times_info_judge": 0.3, "truth_judge": 0.5, "info_judge": 0.6]),
        ]
        let report = SweepReport(records: r)
        let s = report.recipes[0].series[0]
        XCTAssertEqual(s.criterion, "truth_times_info_judge", "the judges decide, not the substitutes")
        XCTAssertEqual(s.best?.spec.parameters["alpha"], JSONValue.number(10))
        let md = ReportWriter(report: report).markdown(figures: [])
        XCTAssertTrue(md.contains("True×Info†") && md.contains("truth†"), md)
        XCTAssertFalse(md.contains("True×Info*"), md)
        XCTAssertTrue(md.contains("† judge models"), md)
    }
}
