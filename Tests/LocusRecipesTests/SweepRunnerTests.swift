import Foundation
import LocusRecipes
import XCTest

final class SweepRunnerTests: XCTestCase {
    func lines(_ url: URL) throws -> [String] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func testRunsEachRunOnceAndResumes() throws {
        let url = try temporaryDirectory().appendingPathComponent("results.jsonl")
        let runs = try sampleRuns()
        var executed: [String] = []
        let counting = ClosureExecutor { run in
            executed.append(run.runID)
            return try fakeExecutor.execute(run)
        }
        do {
            let runner = SweepRunner(runs: runs, results: try ResultsFile(url: url), executor: counting)
            runner.limit = 5
            let s = try runner.run()
            XCTAssertEqual(s.completed, 5)
            XCTAssertEqual(s.alreadyDone, 0)
        }
        do {
            let runner = SweepRunner(runs: runs, results: try ResultsFile(url: url), executor: counting)
            XCTAssertEqual(runner.pending.count, runs.count - 5)
            let s = try runner.run()
            XCTAssertEqual(s.alreadyDone, 5)
            XCTAssertEqual(s.completed, runs.count - 5)
        }
        XCTAssertEqual(executed.sorted(), runs.map(\.runID).sorted())
        let records = try ResultsFile.read(url).records
        XCTAssertEqual(records.map(\.runID), runs.map(\.runID))
        XCTAssertEqual(try lines(url).count, runs.count)
        XCTAssertEqual(records[0].spec, runs[0])
        XCTAssertEqual(records[0].metrics["mc2"], try fakeExecutor.execute(runs[0])["mc2"])
    }

    func testTornFinalLineIsRepairedAndTheRunRedone() throws {
        let url = try temporaryDirectory().appendingPathComponent("results.jsonl")
        let runs = Array(try sampleRuns().prefix(4))
        do {
            let runner = SweepRunner(runs: runs, results: try ResultsFile(url: url), executor: fakeExecutor)
            runner.limit = 3
            try runner.run()
        }
        // Simulate a crash in the middle of writing the fourth record.
        let full = RunRecord(spec: runs[3], status: "ok", metrics: .emptyObject, seconds: 1, finished: "x", shard: "0/1")
        let torn = String(full.json.text.prefix(80))
        let handle = try FileHandle(forWritingTo: url)
        handle.seekToEndOfFile()
        handle.write(Data(torn.utf8))
        try handle.close()
        let file = try ResultsFile(url: url)
        XCTAssertEqual(file.repairedBytes, 80)
        XCTAssertEqual(file.records.count, 3)
        let runner = SweepRunner(runs: runs, results: file, executor: fakeExecutor)
        XCTAssertEqual(runner.pending.map(\.runID), [runs[3].runID])
        try runner.run()
        XCTAssertEqual(try lines(url).count, 4)
        XCTAssertEqual(try ResultsFile.read(url).records.map(\.runID), runs.map(\.runID))
    }

    func testFailedRunsWriteErrorRecordsAndAreRetried() throws {
        let url = try temporaryDirectory().appendingPathComponent("results.jsonl")
        let runs = Array(try sampleRuns().prefix(3))
        struct Boom: Error, CustomStringConvertible { var description: String { "out of memory" } }
        var failing = true
        let flaky = ClosureExecutor { run in
            if failing && run.runID == runs[1].runID { throw Boom() }
            return try fakeExecutor.execute(run)
        }
        do {
            let s = try SweepRunner(runs: runs, results: try ResultsFile(url: url), executor: flaky).run()
            XCTAssertEqual(s.completed, 2)
            XCTAssertEqual(s.failed, 1)
        }
        let records = try ResultsFile.read(url).records
        XCTAssertEqual(records[1].status, "error")
        XCTAssertEqual(records[1].error, "out of memory")
        XCTAssertEqual(SweepReport(records: records).failures.map(\.runID), [runs[1].runID])
        // Without retry the failure counts as done.
        XCTAssertEqual(SweepRunner(runs: runs, results: try ResultsFile(url: url), executor: flaky, retryFailed: false).pending.count, 0)
        failing = false
        let s = try SweepRunner(runs: runs, results: try ResultsFile(url: url), executor: flaky).run()
        XCTAssertEqual(s.completed, 1)
        let report = SweepReport(records: try ResultsFile.read(url).records)
        XCTAssertEqual(report.records.count, 3)
        XCTAssertTrue(report.failures.isEmpty)
    }

    func testIdenticalRunsOfAnotherSweepAreReused() throws {
        let dir = try temporaryDirectory()
        let first = dir.appendingPathComponent("first.jsonl"), second = dir.appendingPathComponent("second.jsonl")
        try SweepRunner(runs: try sampleRuns(name: "one"), results: try ResultsFile(url: first), executor: fakeExecutor).run()
        let runs = try sampleRuns(name: "two")
        let never = ClosureExecutor { _ in XCTFail("should have been reused"); return [:] }
        let runner = SweepRunner(runs: runs, results: try ResultsFile(url: second), executor: never)
        for r in try ResultsFile.read(first).records { runner.reusable[r.runID] = r }
        let s = try runner.run()
        XCTAssertEqual(s.reused, runs.count)
        let records = try ResultsFile.read(second).records
        XCTAssertTrue(records.allSatisfy { $0.spec.recipe == "two" && $0.reusedFrom == "one" })
        XCTAssertEqual(records.map(\.metrics), try ResultsFile.read(first).records.map(\.metrics))
    }

    func testRunsWithMoreMetricGroupsCoverRunsWithFewer() throws {
        let dir = try temporaryDirectory()
        let full = dir.appendingPathComponent("full.jsonl"), part = dir.appendingPathComponent("part.jsonl")
        try SweepRunner(runs: try sampleRuns(name: "one"), results: try ResultsFile(url: full), executor: fakeExecutor).run()
        // The same sweep asking for MC and CE/KL only (figure 3 inside figure 2): every run is covered.
        let runs = try sampleRuns(name: "two", metrics: ["mc", "sideEffects"])
        XCTAssertEqual(runs.first?.metrics, ["mc", "sideEffects"])
        XCTAssertTrue(Set(runs.map(\.runID)).isDisjoint(with: Set(try sampleRuns(name: "one").map(\.runID))))
        let never = ClosureExecutor { _ in XCTFail("should have been reused"); return [:] }
        let runner = SweepRunner(runs: runs, results: try ResultsFile(url: part), executor: never)
        for r in try ResultsFile.read(full).records { runner.reusable[r.runID] = r }
        XCTAssertEqual(try runner.run().reused, runs.count)
        let copied = try ResultsFile.read(part).records
        XCTAssertEqual(copied.map(\.runID), runs.map(\.runID))
        XCTAssertTrue(copied.allSatisfy { $0.spec.metrics == ["mc", "sideEffects"] && $0.reusedFrom == "one" })
        // The other way round nothing is covered: a run asking for more groups is executed.
        let more = dir.appendingPathComponent("more.jsonl")
        var executed = 0
        let counting = ClosureExecutor { run in executed += 1; return try fakeExecutor.execute(run) }
        let back = SweepRunner(runs: try sampleRuns(name: "three"), results: try ResultsFile(url: more), executor: counting)
        for r in copied { back.reusable[r.runID] = r }
        XCTAssertEqual(try back.run().reused, 0)
        XCTAssertEqual(executed, runs.count)
    }

    func testASecondWriterIsRefused() throws {
        let url = try temporaryDirectory().appendingPathComponent("results.jsonl")
        let first = try ResultsFile(url: url)
        XCTAssertThrowsError(try ResultsFile(url: url)) { XCTAssertTrue("\($0)".contains("locked")) }
        _ = first
    }

    func testProgressLine() {
        let line = ProgressBar.line(done: 3, total: 12, width: 12, current: "abc iti alpha=5", elapsed: 65, eta: 195)
        XCTAssertEqual(line, "[###---------] 3/12 runs  elapsed 1:05  ETA 3:15  abc iti alpha=5")
    }
}
