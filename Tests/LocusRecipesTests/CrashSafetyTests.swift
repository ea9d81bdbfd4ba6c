import LocusCore
import Foundation
import LocusRecipes
import LocusTensor
import XCTest

/// Kills a real `locus run` process (SIGKILL) mid-sweep, resumes it, and checks that no record
/// is lost or duplicated; runs shards through the CLI and checks `locus report` gives the same
/// files as for one unsharded run. Uses the hidden fake executor (no model needed).
final class CrashSafetyTests: XCTestCase {
    /// The `locus` binary built beside this test bundle (or $LOCUS_BINARY).
    func locusBinary() throws -> URL {
        var candidates: [URL] = []
        if let env = ProcessInfo.processInfo.environment["LOCUS_BINARY"] { candidates.append(URL(fileURLWithPath: env)) }
        let bundle = Bundle(for: Self.self).bundleURL
        candidates += [bundle.deletingLastPathComponent(), bundle, Bundle.main.bundleURL,
                       URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
            .map { $0.appendingPathComponent("locus") }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("locus binary not found beside the tests (build it, or set LOCUS_BINARY): \(candidates.map(\.path))")
        }
        return found
    }

    func launch(_ arguments: [String], in dir: URL) throws -> Process {
        let p = Process()
        p.executableURL = try locusBinary()
        p.arguments = arguments
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    @discardableResult
    func runToEnd(_ arguments: [String], in dir: URL) throws -> Int32 {
        let p = try launch(arguments, in: dir)
        p.waitUntilExit()
        return p.terminationStatus
    }

    func writeRecipe(_ dir: URL) throws -> [RunSpec] {
        try """
            {"name": "crash", "headSets": [{"kind": "random", "k": 3, "count": 8, "seed": 5}],
             "methods": [{"kind": "iti", "alpha": [0, 5, 10], "ranking": "unused.json"}]}
            """.write(to: dir.appendingPathComponent("crash.json"), atomically: true, encoding: .utf8)
        let recipe = try Recipe.load(dir.appendingPathComponent("crash.json"))
        return try RecipeExpansion.runs(recipe, shape: smallShape)
    }

    func testKillDashNineLosesNothingAndDuplicatesNothing() throws {
        _ = try locusBinary()
        let dir = try temporaryDirectory()
        let runs = try writeRecipe(dir)
        XCTAssertEqual(runs.count, 24)
        let results = dir.appendingPathComponent("results.jsonl")
        let args = ["run", "crash.json", "--results", results.path, "--executor", "fake", "--fake-sleep", "0.15"]
        var kills = 0
        var counts: [Int] = []
        for delay in [0.9, 0.5, 1.3, 0.05] {
            let p = try launch(args, in: dir)
            Thread.sleep(forTimeInterval: delay)
            if p.isRunning {
                kill(p.processIdentifier, SIGKILL)
                kills += 1
            }
            p.waitUntilExit()
            let records = try ResultsFile.read(results).records
            XCTAssertEqual(Set(records.map(\.runID)).count, records.count, "duplicated records after a kill")
            counts.append(records.count)
        }
        XCTAssertGreaterThanOrEqual(kills, 3)
        XCTAssertEqual(counts, counts.sorted(), "records were lost: \(counts)")
        XCTAssertEqual(try runToEnd(args, in: dir), 0)
        let records = try ResultsFile.read(results).records
        XCTAssertEqual(records.count, runs.count)
        XCTAssertEqual(Set(records.map(\.runID)), Set(runs.map(\.runID)))
        XCTAssertTrue(records.allSatisfy(\.isOK))
        let text = try String(contentsOf: results, encoding: .utf8)
        XCTAssertTrue(text.hasSuffix("\n"))
        XCTAssertEqual(text.split(separator: "\n").count, runs.count)
        // A further start has nothing to do.
        XCTAssertEqual(try runToEnd(args, in: dir), 0)
        XCTAssertEqual(try ResultsFile.read(results).records.count, runs.count)
    }

    func testShardsThroughTheCLIMergeToTheSameReport() throws {
        _ = try locusBinary()
        let dir = try temporaryDirectory()
        _ = try writeRecipe(dir)
        let base = ["crash.json", "--executor", "fake"]
        XCTAssertEqual(try runToEnd(["run"] + base + ["--results", "whole.jsonl"], in: dir), 0)
        for i in 0..<2 {
            XCTAssertEqual(try runToEnd(["run"] + base + ["--results", "s\(i).jsonl", "--shard", "\(i)/2"], in: dir), 0)
        }
        let s0 = try ResultsFile.read(dir.appendingPathComponent("s0.jsonl")).records.count
        let s1 = try ResultsFile.read(dir.appendingPathComponent("s1.jsonl")).records.count
        XCTAssertEqual(s0 + s1, 24)
        XCTAssertTrue(s0 > 0 && s1 > 0)
        XCTAssertEqual(try runToEnd(["report", "whole.jsonl", "--out", "a"], in: dir), 0)
        XCTAssertEqual(try runToEnd(["report", "s1.jsonl", "s0.jsonl", "--out", "b"], in: dir), 0)
        for f in ["report.md", "report.html", "summary.json", "figures/crash-truth-info.svg", "figures/crash-kl-mc2.svg"] {
            let a = try Data(contentsOf: dir.appendingPathComponent("a/" + f))
            XCTAssertEqual(a, try Data(contentsOf: dir.appendingPathComponent("b/" + f)), f)
        }
    }

    /// Every file under `dir` (relative path → bytes), leftover temporary files (`.*.tmp`) aside.
    func files(_ dir: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let e = FileManager.default.enumerator(atPath: dir.path)
        while let f = e?.nextObject() as? String {
            let url = dir.appendingPathComponent(f)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue else { continue }
            if (f as NSString).lastPathComponent.hasPrefix("."), f.hasSuffix(".tmp") { continue }
            out[f] = try Data(contentsOf: url)
        }
        return out
    }

    /// `locus report` writes every file through `AtomicFile` (temporary file, fsync, rename):
    /// SIGKILLed at seeded random moments while it rewrites a report (another bootstrap seed, so
    /// the new files differ from the old), every file is always the whole old one or the whole
    /// new one, never a truncated or mixed one.
    func testKilledReportWriterLeavesOldOrNewFilesNeverTruncated() throws {
        _ = try locusBinary()
        let dir = try temporaryDirectory()
        try """
            {"name": "big", "headSets": [{"kind": "randomSingle", "count": 270, "seed": 1},
                                         {"kind": "random", "k": 8, "count": 40, "seed": 2}],
             "methods": [{"kind": "iti", "alpha": [0, 1, 2, 3, 4, 5, 6, 7], "ranking": "unused.json"}]}
            """.write(to: dir.appendingPathComponent("big.json"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try runToEnd(["run", "big.json", "--executor", "fake", "--results", "big.jsonl"], in: dir), 0)
        let report = ["report", "big.jsonl", "--resamples", "4000"]
        XCTAssertEqual(try runToEnd(report + ["--out", "new", "--seed", "1"], in: dir), 0)
        let started = Date()
        XCTAssertEqual(try runToEnd(report + ["--out", "out", "--seed", "0"], in: dir), 0)
        let duration = Date().timeIntervalSince(started)
        let old = try files(dir.appendingPathComponent("out")), new = try files(dir.appendingPathComponent("new"))
        XCTAssertEqual(Set(old.keys), Set(new.keys))
        XCTAssertGreaterThan(old.values.map(\.count).reduce(0, +), 1_000_000, "a report large enough to be caught mid-write")
        XCTAssertNotEqual(old["summary.json"], new["summary.json"], "the rewrite must differ from the old files")
        var g = SystemRandomNumberGenerator()
        let seed = UInt64.random(in: 0...UInt64.max, using: &g)
        var rng = SeededGenerator(seed: seed)  // printed on failure, so a failing moment can be replayed
        var kills = 0
        for attempt in 0..<6 {
            let delay = duration * Double(rng.next() % 1000) / 1000
            let p = try launch(report + ["--out", "out", "--seed", "1"], in: dir)
            Thread.sleep(forTimeInterval: delay)
            if p.isRunning {
                kill(p.processIdentifier, SIGKILL)
                kills += 1
            }
            p.waitUntilExit()
            let now = try files(dir.appendingPathComponent("out"))
            XCTAssertEqual(Set(now.keys), Set(old.keys), "attempt \(attempt), seed \(seed)")
            for (name, bytes) in now {
                XCTAssertTrue(
                    bytes == old[name] || bytes == new[name],
                    "\(name) is neither the old nor the new file (\(bytes.count) bytes) after a kill at \(delay) s, seed \(seed)")
            }
        }
        XCTAssertGreaterThanOrEqual(kills, 3, "the report finished before most kills (seed \(seed))")
        XCTAssertEqual(try runToEnd(report + ["--out", "out", "--seed", "1"], in: dir), 0)
        XCTAssertEqual(try files(dir.appendingPathComponent("out")), new)
    }
}
