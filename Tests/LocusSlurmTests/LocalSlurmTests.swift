import LocusCore
import Foundation
import LocusRecipes
import LocusTestSupport
import XCTest

/// `locus slurm` on a real Slurm: the single-node cluster of scripts/slurm/start-local.sh,
/// which scripts/test.sh starts (and stops) around the suite, exporting SLURM_CONF and
/// LOCUS_REQUIRE_SLURM=1 — so in CI a cluster that cannot start is a failure, not a skip.
/// (Run alone: `eval "$(scripts/slurm/start-local.sh)"` first.)
///
/// Recipes/slurm-test.json (ITI and IPO runs on SmolLM2-135M, 4 questions, 8 training pairs)
/// is run once unsharded with `locus run --threads 1`, then as 3 Slurm shards with 1 CPU each
/// (`--threads $SLURM_CPUS_PER_TASK` = 1, so the same arithmetic), and the merged records must
/// equal the unsharded ones record for record (everything but timings and shard labels).
final class LocalSlurmTests: XCTestCase {
    static let recipe = TestEnvironment.packageRoot.appendingPathComponent("Recipes/slurm-test.json").path
    static let recipeName = "slurm-test"

    struct Reference {
        var root: URL
        var ranking: URL
        var records: [String: RunRecord]
    }

    nonisolated(unsafe) static var reference: Result<Reference, Error>?

    // MARK: environment

    /// Skips when no cluster is configured, unless LOCUS_REQUIRE_SLURM=1 (scripts/test.sh).
    func requireSlurm() throws {
        let env = ProcessInfo.processInfo.environment
        let required = env["LOCUS_REQUIRE_SLURM"] == "1"
        let r = try? shell(["sinfo", "-h", "-o", "%T"])
        var up = false
        if let r, r.status == 0 {
            up = ["idle", "mix", "alloc"].contains { state in r.out.contains(state) }
        }
        if !up {
            let why = "no usable Slurm (SLURM_CONF=\(env["SLURM_CONF"] ?? "unset"); sinfo: \(r.map { $0.out + $0.err } ?? "not found"))"
            if required { throw TestFailure(why + " but LOCUS_REQUIRE_SLURM=1: scripts/slurm/start-local.sh failed?") }
            throw XCTSkip(why + "; start one with scripts/slurm/start-local.sh")
        }
    }

    /// The `locus` binary built beside this test bundle (or $LOCUS_BINARY).
    func locusBinary() throws -> String {
        var candidates: [URL] = []
        if let env = ProcessInfo.processInfo.environment["LOCUS_BINARY"] { candidates.append(URL(fileURLWithPath: env)) }
        let bundle = Bundle(for: Self.self).bundleURL
        candidates += [bundle.deletingLastPathComponent(), bundle]
            .map { $0.appendingPathComponent("locus") }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw TestFailure("locus binary not found beside the tests (build it, or set LOCUS_BINARY): \(candidates.map(\.path))")
        }
        return found.path
    }

    @discardableResult
    func shell(_ arguments: [String], in dir: URL? = nil) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        if let dir { p.currentDirectoryURL = dir }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// Runs `locus ARGS` and returns its JSON line; a non-zero exit fails with its stderr.
    @discardableResult
    func locus(_ arguments: [String], in dir: URL) throws -> JSONValue {
        let r = try shell([try locusBinary()] + arguments, in: dir)
        guard r.status == 0 else {
            throw TestFailure("locus \(arguments.joined(separator: " ")) exited \(r.status): \(r.err.suffix(2000))")
        }
        let line = r.out.split(separator: "\n").last.map(String.init) ?? ""
        return try JSONValue.parse(line)
    }

    /// A ranking (`locus probe` on 40 questions) and the unsharded run, made once per process.
    func unsharded() throws -> Reference {
        if let r = Self.reference { return try r.get() }
        let result = Result { () throws -> Reference in
            let root = try TestEnvironment.temporaryDirectory("slurm")
            let dir = root.appendingPathComponent("unsharded")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try locus(["probe", "--questions", "40", "--top-k", "8", "--threads", "1",
                       "--output", "runs/probe/slurm-test.json", "--cache-directory", "runs/cache"], in: dir)
            // Recipe paths (the ranking) resolve against --workdir, command-line paths against the caller.
            try locus([
                "run", Self.recipe, "--threads", "1", "--workdir", dir.path,
                "--results", dir.appendingPathComponent("unsharded.jsonl").path,
            ], in: root)
            let records = try ResultsFile.read(dir.appendingPathComponent("unsharded.jsonl")).records
            return Reference(
                root: root, ranking: dir.appendingPathComponent("runs/probe/slurm-test.json"),
                records: Dictionary(records.map { ($0.runID, $0) }, uniquingKeysWith: { a, _ in a }))
        }
        Self.reference = result
        return try result.get()
    }

    /// A fresh work directory with the reference ranking at the recipe's relative path.
    func workdir(_ name: String, _ ref: Reference) throws -> URL {
        let dir = ref.root.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("runs/probe"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: ref.ranking, to: dir.appendingPathComponent("runs/probe/slurm-test.json"))
        return dir
    }

    /// This sweep's jobs still in squeue.
    func queued(_ jobs: [String]) throws -> [String] {
        let r = try shell(["squeue", "-h", "-r", "-o", "%i %F %T"])
        guard r.status == 0 else { throw TestFailure("squeue failed: \(r.err)") }
        return r.out.split(separator: "\n").map(String.init).filter { line in
            let f = line.split(separator: " ").map(String.init)
            return f.count >= 2 && (jobs.contains(f[0]) || jobs.contains(f[1]))
        }
    }

    func waitUntilGone(_ jobs: [String], timeout: Double = 1800) throws {
        let start = Date()
        while try !queued(jobs).isEmpty {
            guard Date().timeIntervalSince(start) < timeout else {
                throw TestFailure("jobs \(jobs) still queued after \(Int(timeout)) s: \(try queued(jobs))")
            }
            Thread.sleep(forTimeInterval: 1)
        }
    }

    /// What a record computed: spec and metrics without timings (`*_seconds`).
    static func computed(_ r: RunRecord) -> String {
        let metrics = JSONValue.object((r.metrics.fields ?? [:]).filter { !$0.key.hasSuffix("_seconds") })
        return JSONValue.object([("status", .string(r.status)), ("spec", r.spec.json), ("metrics", metrics)]).canonicalText
    }

    func assertMatchesUnsharded(_ merged: URL, _ ref: Reference, file: StaticString = #filePath, line: UInt = #line) throws {
        let records = try ResultsFile.read(merged).records
        XCTAssertEqual(records.count, ref.records.count, "merged run count", file: file, line: line)
        XCTAssertEqual(Set(records.map(\.runID)), Set(ref.records.keys), file: file, line: line)
        XCTAssertEqual(Set(records.map(\.runID)).count, records.count, "duplicated runs in merged.jsonl", file: file, line: line)
        for r in records {
            guard let u = ref.records[r.runID] else { continue }
            XCTAssertEqual(Self.computed(r), Self.computed(u), "run \(r.runID) \(r.spec.label) differs from the unsharded run", file: file, line: line)
        }
        XCTAssertTrue(records.allSatisfy(\.isOK), file: file, line: line)
    }

    /// Every shard file holds exactly its planned runs, each once.
    func assertShardFilesExact(_ dir: URL) throws {
        let folder = dir.appendingPathComponent("runs/slurm/\(Self.recipeName)")
        let plan = try ShardPlan.load(folder.appendingPathComponent("plan.json"))
        for s in 0..<plan.shardCount {
            let url = folder.appendingPathComponent("shard-\(s)-of-\(plan.shardCount).jsonl")
            let ids = try ResultsFile.read(url).records.map(\.runID)
            XCTAssertEqual(ids.count, Set(ids).count, "shard \(s) has duplicated records")
            XCTAssertEqual(Set(ids), Set(plan.entries(inShard: s).map(\.runID)), "shard \(s) runs")
            let text = try String(contentsOf: url, encoding: .utf8)
            XCTAssertEqual(text.split(separator: "\n").count, ids.count, "shard \(s) has unreadable lines")
        }
    }

    // MARK: tests

    func testThreeShardsGiveTheUnshardedRecords() throws {
        try requireSlurm()
        let ref = try unsharded()
        XCTAssertEqual(ref.records.count, 9)
        XCTAssertEqual(Set(ref.records.values.map(\.spec.method)), ["iti", "ipo"])
        let dir = try workdir("three-shards", ref)
        let submitted = try locus(["slurm", "submit", Self.recipe, "--shards", "3", "--workdir", dir.path], in: ref.root)
        let jobs = [submitted["array_job"]?.string, submitted["report_job"]?.string].compactMap { $0 }
        XCTAssertEqual(jobs.count, 2)
        try waitUntilGone(jobs)

        let folder = dir.appendingPathComponent("runs/slurm/\(Self.recipeName)")
        for name in ["array.sbatch", "report.sbatch", "plan.json", "merged.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path), name)
        }
        let script = try String(contentsOf: folder.appendingPathComponent("array.sbatch"), encoding: .utf8)
        XCTAssertTrue(script.contains("#SBATCH --array=0-2") && script.contains("#SBATCH --requeue"), script)
        try assertMatchesUnsharded(folder.appendingPathComponent("merged.jsonl"), ref)
        try assertShardFilesExact(dir)
        // The report job ran `locus report` on the merged file.
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("runs/report/\(Self.recipeName)/report.md").path))
        // Batch logs: plain lines, no carriage returns or escape sequences.
        for s in 0..<3 {
            let log = try String(contentsOf: folder.appendingPathComponent("logs/shard-\(s).log"), encoding: .utf8)
            XCTAssertFalse(log.contains("\r") || log.contains("\u{1B}"), "shard \(s) log has \\r or ESC")
            XCTAssertTrue(log.contains("sweep: "), log)
        }
        let status = try locus(["slurm", "status", Self.recipe, "--workdir", dir.path], in: ref.root)
        XCTAssertEqual(status["finished"]?.int, 9)
    }

    func testKilledTaskIsResubmittedWithoutLossOrDuplicates() throws {
        try requireSlurm()
        let ref = try unsharded()
        let dir = try workdir("killed-task", ref)
        let submitted = try locus(["slurm", "submit", Self.recipe, "--shards", "3", "--workdir", dir.path], in: ref.root)
        guard let arrayJob = submitted["array_job"]?.string, let reportJob = submitted["report_job"]?.string else {
            throw TestFailure("submit printed \(submitted)")
        }
        let folder = dir.appendingPathComponent("runs/slurm/\(Self.recipeName)")
        let plan = try ShardPlan.load(folder.appendingPathComponent("plan.json"))
        // The shard with the most runs, killed once its first record is on disk.
        let victim = (0..<3).max { plan.entries(inShard: $0).count < plan.entries(inShard: $1).count }!
        let planned = plan.entries(inShard: victim).count
        XCTAssertGreaterThanOrEqual(planned, 3)
        let results = folder.appendingPathComponent("shard-\(victim)-of-3.jsonl")
        let start = Date()
        var before = 0
        while true {
            if FileManager.default.fileExists(atPath: results.path) {
                before = try ResultsFile.read(results).records.count
                if before >= 1 { break }
            }
            guard Date().timeIntervalSince(start) < 1800 else { throw TestFailure("shard \(victim) wrote nothing in 30 min") }
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTAssertEqual(try shell(["scancel", "\(arrayJob)_\(victim)"]).status, 0)
        try waitUntilGone([arrayJob, reportJob])  // the report job is cancelled: its afterok can never hold
        let afterKill = try ResultsFile.read(results).records
        XCTAssertLessThan(afterKill.count, planned, "the task finished before scancel: nothing was killed mid-run")
        XCTAssertGreaterThanOrEqual(afterKill.count, before, "records were lost")
        XCTAssertEqual(Set(afterKill.map(\.runID)).count, afterKill.count)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("merged.jsonl").path))

        let status = try locus(["slurm", "status", Self.recipe, "--workdir", dir.path], in: ref.root)
        XCTAssertEqual(status["finished"]?.int, 9 - (planned - afterKill.count))
        let again = try locus(["slurm", "resubmit", Self.recipe, "--workdir", dir.path], in: ref.root)
        XCTAssertEqual(again["resubmitted"]?.array?.compactMap(\.int), [victim])
        let jobs = [again["array_job"]?.string, again["report_job"]?.string].compactMap { $0 }
        XCTAssertEqual(jobs.count, 2)
        try waitUntilGone(jobs)

        try assertMatchesUnsharded(folder.appendingPathComponent("merged.jsonl"), ref)
        try assertShardFilesExact(dir)
        // The resubmitted task skipped the runs the killed one had finished.
        let log = try String(contentsOf: folder.appendingPathComponent("logs/shard-\(victim).log"), encoding: .utf8)
        XCTAssertTrue(log.contains("\(afterKill.count) already done"), log)
        let nothing = try locus(["slurm", "resubmit", Self.recipe, "--workdir", dir.path], in: ref.root)
        XCTAssertEqual(nothing["resubmitted"]?.array?.count, 0)
    }
}
