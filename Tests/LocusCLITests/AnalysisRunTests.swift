import Foundation
import LocusTestSupport
import XCTest

/// The Hase and interchange analyses as `locus run` methods (issue 14 item 4) on the real
/// SmolLM2 checkpoint and the real CounterFact / known-facts data, at a tiny size: a run killed
/// with SIGKILL after its first record resumes without lost or duplicated records, two shards
/// give the unsharded records run for run, and `locus report` draws the analysis's table and
/// figure from either.
final class AnalysisRunTests: XCTestCase {
    func testHaseRunResumesShardsAndReports() throws {
        try check(method: """
            {"kind": "hase", "facts": 3, "layers": "4,20", "romeSteps": 3, "contexts": 2,
             "statsChunks": 4, "statsChunkTokens": 32, "window": 3, "samples": 2, "noiseBasis": "subjects"}
            """, analysis: "hase", figure: "hase.svg")
    }

    func testInterchangeRunResumesShardsAndReports() throws {
        try check(method: """
            {"kind": "interchange", "facts": 3, "layers": "4,20", "romeSteps": 3, "contexts": 2,
             "statsChunks": 4, "statsChunkTokens": 32}
            """, analysis: "interchange", figure: "interchange.svg")
    }

    /// Records of a results file by run ID (status and metrics); fails on a duplicated ID.
    func records(_ url: URL, file: StaticString = #filePath, line: UInt = #line) throws -> [String: NSDictionary] {
        var out: [String: NSDictionary] = [:]
        for text in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
            let r = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let id = try XCTUnwrap(r["runID"] as? String)
            XCTAssertNil(out[id], "run \(id) recorded twice in \(url.lastPathComponent)", file: file, line: line)
            XCTAssertEqual(r["status"] as? String, "ok", "\(r["error"] ?? "")", file: file, line: line)
            out[id] = try XCTUnwrap(r["metrics"] as? NSDictionary)
        }
        return out
    }

    func check(method: String, analysis: String, figure: String) throws {
        let dir = try TestEnvironment.temporaryDirectory("analysis-run-\(analysis)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = dir.appendingPathComponent("recipe.json")
        try """
            {"format": "locus.recipe/1", "name": "\(analysis)-test", "model": "\(try TestEnvironment.modelURL().path)",
             "seeds": [0], "metrics": [], "methods": [\(method)]}
            """.write(to: recipe, atomically: true, encoding: .utf8)
        let data = try TestEnvironment.dataLocation().root.path
        let common = ["--workdir", dir.path, "--data", data, "--threads", "1"]

        // Unsharded, killed (SIGKILL) once the first record is in, then resumed.
        let whole = dir.appendingPathComponent("whole.jsonl")
        let p = Process()
        p.executableURL = try CLI.binary()
        p.arguments = ["run", recipe.path, "--results", whole.path] + common
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(900)
        while p.isRunning, Date() < deadline {
            if let text = try? String(contentsOf: whole, encoding: .utf8), text.contains("\n") { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertTrue(p.isRunning, "the run ended before it could be interrupted (status \(p.terminationStatus))")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let interrupted = try records(whole)
        XCTAssertGreaterThanOrEqual(interrupted.count, 1)
        XCTAssertLessThan(interrupted.count, 3)
        let resumed = try CLI.run(["run", recipe.path, "--results", whole.path] + common)
        XCTAssertEqual(resumed.status, 0, resumed.output)
        let all = try records(whole)
        XCTAssertEqual(all.count, 3, "3 facts, one run each")
        for (id, m) in interrupted { XCTAssertEqual(all[id], m, "a finished run was redone differently") }
        XCTAssertEqual(Set(all.values.compactMap { ($0["fact_index"] as? NSNumber)?.intValue }), [0, 1, 2])

        // Two shards: together the same runs with the same records.
        var sharded: [String: NSDictionary] = [:]
        for i in 0..<2 {
            let url = dir.appendingPathComponent("shard-\(i).jsonl")
            let r = try CLI.run(["run", recipe.path, "--results", url.path, "--shard", "\(i)/2"] + common)
            XCTAssertEqual(r.status, 0, r.output)
            sharded.merge(try records(url)) { a, _ in XCTFail("run in both shards"); return a }
        }
        XCTAssertEqual(Set(sharded.keys), Set(all.keys))
        for (id, m) in all { XCTAssertEqual(sharded[id], m, "run \(id): sharded record differs") }

        // The report has the analysis's section, table and figure, the same from either.
        var summaries: [NSDictionary] = []
        for (name, files) in [("whole", [whole.path]), ("shards", ["shard-0.jsonl", "shard-1.jsonl"].map { dir.appendingPathComponent($0).path })] {
            let out = dir.appendingPathComponent("report-\(name)")
            let r = try CLI.run(["report"] + files + ["--out", out.path])
            XCTAssertEqual(r.status, 0, r.output)
            let md = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
            XCTAssertTrue(md.contains(analysis == "hase" ? "regression of rewrite score on" : "ROME flips"), md)
            XCTAssertTrue(md.contains("figures/\(analysis)-test-\(analysis)-\(figure)"), md)
            XCTAssertFalse(md.contains("Best setting per head set"), md)
            let svg = out.appendingPathComponent("figures/\(analysis)-test-\(analysis)-\(figure)")
            XCTAssertTrue(try String(contentsOf: svg, encoding: .utf8).contains("<svg"))
            let summary = try XCTUnwrap(
                try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json"))) as? [String: Any])
            let recipes = try XCTUnwrap(summary["recipes"] as? [[String: Any]])
            let section = try XCTUnwrap((recipes.first?["sections"] as? [[String: Any]])?.first?["summary"] as? NSDictionary)
            XCTAssertEqual(section["analysis"] as? String, analysis)
            XCTAssertEqual((section["facts"] as? NSNumber)?.intValue, analysis == "hase" ? 3 : all.values.filter { $0["skipped"] == nil }.count)
            summaries.append(section)
        }
        XCTAssertEqual(summaries[0], summaries[1])
    }
}
