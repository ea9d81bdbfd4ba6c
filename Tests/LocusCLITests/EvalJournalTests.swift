import Foundation
import LocusTestSupport
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// `locus eval truthfulqa --journal/--shard/--merge` on the real SmolLM2 model and TruthfulQA
/// (a handful of questions, `--no-side-effects`): a run killed with SIGKILL and resumed, and two
/// shards merged, give the numbers of an uninterrupted run exactly (per question and in the
/// aggregates); a torn last line is cut and its unit redone; other settings or another model
/// are refused, naming the field, and leave the journal untouched.
final class EvalJournalTests: XCTestCase {
    /// MC + generation, 8 questions in units of 2 (4 units).
    static func fullArguments(_ model: String) -> [String] {
        ["eval", "truthfulqa", "--model", model, "--limit", "8", "--no-side-effects", "--max-new-tokens", "6",
         "--questions-per-batch", "2", "--generation-batch", "2", "--per-question", "--threads", "1"]
    }

    /// The uninterrupted journaled run, shared by the tests that compare with it.
    nonisolated(unsafe) static var baseline: (record: [String: Any], journal: URL)?

    func baseline() throws -> (record: [String: Any], journal: URL) {
        if let b = Self.baseline { return b }
        let dir = try TestEnvironment.temporaryDirectory("journal-baseline")
        let journal = dir.appendingPathComponent("full.jsonl"), output = dir.appendingPathComponent("full.json")
        let r = try CLI.run(Self.fullArguments(try model()) + ["--journal", journal.path, "--output", output.path])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stderr.contains("(new)") && r.stderr.contains("0 done, 8 to do"), r.stderr)
        let b = (try Self.record(output), journal)
        Self.baseline = b
        return b
    }

    func model() throws -> String { try TestEnvironment.modelURL().path }

    static func record(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    /// The numbers of a record (metrics, and per group its aggregates and per-question results)
    /// as canonical JSON, for exact comparison; timing and configuration are left out.
    static func numbers(_ record: [String: Any]) throws -> String {
        let subset: [String: Any] = ["metrics": record["metrics"]!, "groups": record["groups"]!]
        return String(decoding: try JSONSerialization.data(withJSONObject: subset, options: [.sortedKeys]), as: UTF8.self)
    }

    static func lineCount(_ url: URL) -> Int {
        guard let data = try? Data(contentsOf: url) else { return 0 }
        return data.filter { $0 == UInt8(ascii: "\n") }.count
    }

    func testKilledRunResumesToTheUninterruptedNumbers() throws {
        let (expected, _) = try baseline()
        let dir = try TestEnvironment.temporaryDirectory("journal-kill")
        let journal = dir.appendingPathComponent("killed.jsonl"), output = dir.appendingPathComponent("resumed.json")
        let arguments = Self.fullArguments(try model()) + ["--journal", journal.path, "--output", output.path]

        // Start, wait for the header and the first unit, then SIGKILL.
        let p = Process()
        p.executableURL = try CLI.binary()
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = "1"
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(300)
        while Self.lineCount(journal) < 2 && p.isRunning && Date() < deadline { usleep(5_000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal, "the run finished before it could be killed")
        let linesAtKill = Self.lineCount(journal)
        XCTAssertGreaterThanOrEqual(linesAtKill, 2)
        XCTAssertLessThan(linesAtKill, 5, "all 4 units were done before the kill: nothing to resume")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path))

        let r = try CLI.run(arguments)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stderr.contains("(resumed)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("\(2 * (linesAtKill - 1)) done, \(8 - 2 * (linesAtKill - 1)) to do"), r.stderr)
        XCTAssertEqual(Self.lineCount(journal), 5)
        XCTAssertEqual(try Self.numbers(Self.record(output)), try Self.numbers(expected))

        // A third run finds everything done and prints the same numbers again.
        let again = try CLI.run(arguments)
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertTrue(again.stderr.contains("8 done, 0 to do"), again.stderr)
        XCTAssertEqual(try Self.numbers(Self.record(output)), try Self.numbers(expected))
    }

    func testTwoShardsMergedEqualTheUnshardedRun() throws {
        let (expected, _) = try baseline()
        let dir = try TestEnvironment.temporaryDirectory("journal-shards")
        let shards = (0..<2).map { dir.appendingPathComponent("shard-\($0).jsonl") }
        var owned: [Int] = []
        for (i, url) in shards.enumerated() {
            let out = dir.appendingPathComponent("shard-\(i).json")
            let r = try CLI.run(Self.fullArguments(try model()) + ["--journal", url.path, "--shard", "\(i)/2", "--output", out.path])
            XCTAssertEqual(r.status, 0, r.output)
            // A shard's record covers its own questions.
            let record = try Self.record(out)
            let ids = ((record["groups"] as! [[String: Any]])[0]["questions"] as! [Int])
            XCTAssertFalse(ids.isEmpty)
            owned += ids
        }
        XCTAssertEqual(owned.sorted(), Array(0..<8), "the shards split the questions")

        // Merging needs every shard.
        let partial = try CLI.run(Self.fullArguments(try model()) + ["--merge", shards[0].path])
        XCTAssertNotEqual(partial.status, 0)
        XCTAssertTrue(partial.stderr.contains("shard 1/2 is missing"), partial.stderr)

        let output = dir.appendingPathComponent("merged.json")
        let merged = try CLI.run(Self.fullArguments(try model()) + ["--merge", shards[1].path, shards[0].path, "--output", output.path])
        XCTAssertEqual(merged.status, 0, merged.output)
        XCTAssertEqual(try Self.numbers(Self.record(output)), try Self.numbers(expected))
    }

    /// MC only: a torn last line (a kill inside a write) is cut and its unit redone; the numbers
    /// equal the run without a journal (same packing) exactly.
    func testTornLastLineIsCutAndRedone() throws {
        let dir = try TestEnvironment.temporaryDirectory("journal-torn")
        let journal = dir.appendingPathComponent("mc.jsonl")
        let plainOutput = dir.appendingPathComponent("plain.json"), output = dir.appendingPathComponent("mc.json")
        let arguments = ["eval", "truthfulqa", "--model", try model(), "--limit", "6", "--no-generation",
                         "--no-side-effects", "--questions-per-batch", "2", "--per-question", "--threads", "1"]
        let plain = try CLI.run(arguments + ["--output", plainOutput.path])
        XCTAssertEqual(plain.status, 0, plain.output)
        let first = try CLI.run(arguments + ["--journal", journal.path, "--output", output.path])
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertEqual(try Self.numbers(Self.record(output)), try Self.numbers(Self.record(plainOutput)))

        // Keep the header and the first unit, and half of the second unit's line.
        let text = try String(contentsOf: journal, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 5)  // header, 3 units, ""
        let torn = lines[0] + "\n" + lines[1] + "\n" + lines[2].prefix(lines[2].count / 2)
        try Data(torn.utf8).write(to: journal)
        try FileManager.default.removeItem(at: output)

        let resumed = try CLI.run(arguments + ["--journal", journal.path, "--output", output.path])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.stderr.contains("cut a torn last line (\(lines[2].count / 2) bytes)"), resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("2 done, 4 to do"), resumed.stderr)
        XCTAssertEqual(Self.lineCount(journal), 4)
        XCTAssertEqual(try Self.numbers(Self.record(output)), try Self.numbers(Self.record(plainOutput)))

        // A damaged complete line is refused, naming the file and line; nothing is changed.
        var damaged = text.split(separator: "\n").map(String.init)
        damaged[2] = "{\"group\": 0}"
        try Data((damaged.joined(separator: "\n") + "\n").utf8).write(to: journal)
        let before = try Data(contentsOf: journal)
        let refused = try CLI.run(arguments + ["--journal", journal.path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("\(journal.path) line 3 is a complete line but not a journal entry"), refused.stderr)
        XCTAssertEqual(try Data(contentsOf: journal), before)
    }

    /// ITI from a probe ranking: two folds (two groups, each with its own heads), journaled,
    /// sharded and merged, and without a journal — the same numbers.
    func testITIFoldsJournaledShardedAndPlainAgree() throws {
        let dir = try TestEnvironment.temporaryDirectory("journal-iti")
        let ranking = dir.appendingPathComponent("r.json").path
        let probe = try CLI.run(
            ["probe", "--model", try model(), "--threads", "1", "--questions", "8", "--folds", "2", "--top-k", "4",
             "--output", ranking, "--cache-directory", dir.appendingPathComponent("cache").path])
        XCTAssertEqual(probe.status, 0, probe.output)
        let arguments = ["eval", "truthfulqa", "--model", try model(), "--threads", "1", "--probe", ranking, "--heads", "top",
                         "--k", "4", "--alpha", "5", "--limit", "3", "--no-side-effects", "--max-new-tokens", "4",
                         "--questions-per-batch", "2", "--generation-batch", "2", "--per-question"]
        func record(_ extra: [String], _ name: String) throws -> [String: Any] {
            let out = dir.appendingPathComponent(name)
            let r = try CLI.run(arguments + extra + ["--output", out.path])
            XCTAssertEqual(r.status, 0, r.output)
            return try Self.record(out)
        }
        let plain = try record([], "plain.json")
        XCTAssertEqual((plain["groups"] as! [[String: Any]]).count, 2)
        let journaled = try record(["--journal", dir.appendingPathComponent("j.jsonl").path], "j.json")
        XCTAssertEqual(try Self.numbers(journaled), try Self.numbers(plain))
        let shards = (0..<2).map { dir.appendingPathComponent("s\($0).jsonl").path }
        for (i, path) in shards.enumerated() { _ = try record(["--journal", path, "--shard", "\(i)/2"], "s\(i).json") }
        let merged = try record(["--merge"] + shards, "m.json")
        XCTAssertEqual(try Self.numbers(merged), try Self.numbers(plain))
        // The probe file is part of the fingerprint.
        var changed = arguments
        changed[changed.firstIndex(of: "--alpha")! + 1] = "6"
        let refused = try CLI.run(changed + ["--journal", dir.appendingPathComponent("j.jsonl").path])
        XCTAssertTrue(refused.stderr.contains("was written with alpha = 5.0, this run has alpha = 6.0"), refused.stderr)
    }

    /// Steering that edits the shared prefix (`--positions all`): a journaled run evaluates unit
    /// by unit, reusing the edited prefix across units (`prefixKey`), and gives the numbers of
    /// the plain run, which computes it once per group.
    func testPrefixEditingSteeringJournaledEqualsPlain() throws {
        let dir = try TestEnvironment.temporaryDirectory("journal-steer")
        let steering = dir.appendingPathComponent("s.safetensors").path
        let steer = try CLI.run(
            ["steer", "--model", try model(), "--threads", "1", "--heads", "random:4:0", "--max-train-pairs", "8",
             "--max-validation-pairs", "4", "--epochs", "1", "--batch-size", "4", "--positions", "all", "--output", steering])
        XCTAssertEqual(steer.status, 0, steer.output)
        let arguments = ["eval", "truthfulqa", "--model", try model(), "--threads", "1", "--steering", steering,
                         "--scale", "200", "--limit", "4", "--no-side-effects", "--max-new-tokens", "4",
                         "--questions-per-batch", "2", "--generation-batch", "2", "--per-question"]
        let plainURL = dir.appendingPathComponent("plain.json"), journaledURL = dir.appendingPathComponent("j.json")
        let plain = try CLI.run(arguments + ["--output", plainURL.path])
        XCTAssertEqual(plain.status, 0, plain.output)
        let journaled = try CLI.run(arguments + ["--journal", dir.appendingPathComponent("j.jsonl").path, "--output", journaledURL.path])
        XCTAssertEqual(journaled.status, 0, journaled.output)
        XCTAssertTrue(journaled.stderr.contains("2 of 2 units"), journaled.stderr)
        XCTAssertEqual(try Self.numbers(Self.record(journaledURL)), try Self.numbers(Self.record(plainURL)))
    }

    func testOtherSettingsOrModelAreRefused() throws {
        let (_, journal) = try baseline()
        let before = try Data(contentsOf: journal)
        let args = Self.fullArguments(try model()) + ["--journal", journal.path]
        func refused(_ arguments: [String], naming field: String, _ value: String, line: UInt = #line) throws {
            let r = try CLI.run(arguments)
            XCTAssertNotEqual(r.status, 0, line: line)
            XCTAssertTrue(r.stderr.contains("journal \(journal.path) was written with \(field) = "), r.stderr, line: line)
            XCTAssertTrue(r.stderr.contains("this run has \(field) = \(value)"), r.stderr, line: line)
            XCTAssertEqual(try Data(contentsOf: journal), before, "a refused run changed the journal", line: line)
        }
        try refused(args.replacingFirst("6", with: "7", after: "--max-new-tokens"), naming: "max_new_tokens", "7")
        try refused(args.replacingFirst("8", with: "7", after: "--limit"), naming: "limit", "7")
        try refused(args + ["--weights", "f32"], naming: "weights", "f32")
        try refused(args + ["--activation-quantization", "all"], naming: "activation_quantization", "all")
        try refused(args.replacingFirst("2", with: "4", after: "--questions-per-batch"), naming: "questions_per_batch", "4")
        try refused(args + ["--shard", "0/2"], naming: "shard", "0/2")
        // Another model (the tiny llama fixture).
        let dir = try TestEnvironment.temporaryDirectory("journal-other-model")
        let tiny = try TinyHFModel.make(in: dir)
        try refused(args.replacingFirst(try model(), with: tiny.path, after: "--model"), naming: "model_sha256", "")

        // Options that cannot go together.
        let noJournal = try CLI.run(Self.fullArguments(try model()) + ["--shard", "0/2"])
        XCTAssertTrue(noJournal.stderr.contains("--shard needs --journal"), noJournal.stderr)
        let badShard = try CLI.run(Self.fullArguments(try model()) + ["--journal", journal.path, "--shard", "2/2"])
        XCTAssertTrue(badShard.stderr.contains("--shard must be i/n"), badShard.stderr)
    }
}

extension [String] {
    /// A copy with the value after `option` replaced (checks that it was `old`).
    func replacingFirst(_ old: String, with new: String, after option: String) -> [String] {
        var copy = self
        let i = firstIndex(of: option)! + 1
        precondition(copy[i] == old)
        copy[i] = new
        return copy
    }
}
