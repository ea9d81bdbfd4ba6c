import Foundation
import LocusCheckpoint
import LocusSteering
import LocusTestSupport
import XCTest

/// CLI behaviour on bad input at run time (issue 10), on the tiny llama as a Hugging Face
/// directory and, where a second model shape is needed, the real SmolLM2 checkpoint.
final class RuntimeValidationTests: XCTestCase {
    var dir: URL!
    var model: URL!

    override func setUpWithError() throws {
        dir = try TestEnvironment.temporaryDirectory("cli-\(name.filter(\.isLetter))")
        model = try TinyHFModel.make(in: dir)
    }

    /// A JSON Lines preference file with CRLF line ends: 2·`groups` pairs, each its own prompt
    /// (so its own group).
    func preferences(_ name: String, groups: Int) throws -> URL {
        var lines: [String] = []
        for g in 0..<groups {
            for k in 0..<2 {
                lines.append(#"{"prompt": "Q\#(g): is \#(k) odd?", "chosen": " \#(k % 2 == 1 ? "yes" : "no")", "rejected": " \#(k % 2 == 1 ? "no" : "yes")"}"#)
            }
        }
        let url = dir.appendingPathComponent(name)
        try Data((lines.joined(separator: "\r\n") + "\r\n").utf8).write(to: url)
        return url
    }

    func steer(_ extra: [String], data: URL, output: String = "s.safetensors") throws -> CLI.Result {
        try CLI.run(
            ["steer", "--model", model.path, "--heads", "L0H1,L1H2", "--data", data.path, "--epochs", "1",
             "--batch-size", "2", "--threads", "1", "--output", dir.appendingPathComponent(output).path] + extra)
    }

    func assertRuntimeError(_ r: CLI.Result, mentions parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(r.status, 0, r.output, file: file, line: line)
        for part in parts { XCTAssertTrue(r.stderr.contains(part), "'\(part)' not in: \(r.stderr)", file: file, line: line) }
        XCTAssertFalse(r.stderr.contains("USAGE:") || r.stderr.contains("Usage:"), "a runtime error printed usage: \(r.stderr)", file: file, line: line)
        XCTAssertFalse(r.stderr.contains("Fatal error"), "trapped: \(r.stderr)", file: file, line: line)
    }

    /// steer on a Hugging Face directory with a CRLF JSONL file: the record carries the
    /// directory's fingerprint; a rerun with other data, heads or hyper-parameters refuses the
    /// checkpoint; the same command resumes.
    func testSteerOnHFDirectoryAndResumeOnlyTheSameRun() throws {
        let data = try preferences("prefs.jsonl", groups: 10)
        let first = try steer([], data: data)
        XCTAssertEqual(first.status, 0, first.output)
        let recordURL = dir.appendingPathComponent("s.json")
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: recordURL)) as! [String: Any]
        let sha = try XCTUnwrap(record["modelSHA256"] as? String)
        XCTAssertEqual(sha.count, 64)
        XCTAssertEqual((record["dataSHA256"] as? String)?.count, 64)
        XCTAssertEqual(record["trainPairs"] as? Int, 12, "20 prompts → 12 train groups (every CRLF line read)")
        let file = try SteeringFile.load(dir.appendingPathComponent("s.safetensors"))
        XCTAssertTrue(file.parameters.values.allSatisfy(\.isFinite))

        // Same command: resumes (all epochs done), same record model.
        let again = try steer([], data: data)
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertTrue(again.stderr.contains("resuming"), again.stderr)

        let other = try preferences("other.jsonl", groups: 12)
        assertRuntimeError(try steer([], data: other), mentions: ["checkpoint of another run", "data"])
        assertRuntimeError(try steer(["--lr", "0.5"], data: data), mentions: ["checkpoint of another run", "hyper-parameters"])
        let heads = try CLI.run(
            ["steer", "--model", model.path, "--heads", "L0H1", "--data", data.path, "--epochs", "1", "--batch-size", "2",
             "--output", dir.appendingPathComponent("s.safetensors").path])
        assertRuntimeError(heads, mentions: ["checkpoint of another run", "heads"])
    }

    func testHeadsTheModelDoesNotHaveAndEmptyValidationAreErrors() throws {
        let data = try preferences("prefs.jsonl", groups: 10)
        for heads in ["L99H99", "L0H50"] {
            let r = try CLI.run(["steer", "--model", model.path, "--heads", heads, "--data", data.path, "--output", dir.appendingPathComponent("h.safetensors").path])
            assertRuntimeError(r, mentions: [heads, "does not exist"])
        }
        // One prompt (one group): the 60/20/20 split puts it in training, validation is empty.
        let two = dir.appendingPathComponent("two.jsonl")
        try Data(#"{"prompt": "Q: is 1 odd?", "chosen": " yes", "rejected": " no"}"#.utf8).write(to: two)
        assertRuntimeError(try steer([], data: two, output: "two.safetensors"), mentions: ["validation split is empty"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("two.safetensors").path))
    }

    /// A learning rate that overflows the forward pass never leaves non-finite parameters on
    /// disk: either training stops and keeps the last finite step, or nothing is saved.
    func testDivergentTrainingNeverSavesNonFiniteParameters() throws {
        let data = try preferences("prefs.jsonl", groups: 10)
        for lr in ["1e9", "1e30", "1e38"] {
            let out = "lr\(lr).safetensors"
            let r = try steer(["--lr", lr, "--clip", "0", "--epochs", "2"], data: data, output: out)
            XCTAssertNotEqual(r.status, 0, "lr \(lr) must not report success: \(r.output)")
            XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr)
            let url = dir.appendingPathComponent(out)
            if FileManager.default.fileExists(atPath: url.path) {
                let file = try SteeringFile.load(url)  // throws on NaN/inf values
                XCTAssertTrue(file.parameters.values.allSatisfy(\.isFinite))
                let logits = try CLI.run(["logits", "--model", model.path, "--steering", url.path, "--json", "Q1: is 1 odd?"])
                XCTAssertEqual(logits.status, 0, logits.output)
                XCTAssertFalse(logits.stdout.contains("null"), "lr \(lr): the saved edit gives non-finite logits: \(logits.stdout)")
            }
        }
    }

    /// A steering file from the tiny model (head width 16) applied to SmolLM2 (width 64) is an
    /// error naming the file, not a write past the buffer; eval of a file trained on a custom
    /// preference file refuses to read its groups as TruthfulQA ids; a file without its record
    /// is named.
    func testSteeringFileIsCheckedAgainstTheModelAndItsRecord() throws {
        let data = try preferences("prefs.jsonl", groups: 10)
        XCTAssertEqual(try steer([], data: data).status, 0)
        let steering = dir.appendingPathComponent("s.safetensors").path
        let smol = try TestEnvironment.modelURL()
        assertRuntimeError(
            try CLI.run(["generate", "--model", smol.path, "--steering", steering, "--max-tokens", "2", "Hello"]),
            mentions: ["s.safetensors", "head width 16", "64"])

        let eval = try CLI.run(["eval", "truthfulqa", "--model", model.path, "--steering", steering, "--limit", "2", "--no-generation", "--no-side-effects"])
        assertRuntimeError(eval, mentions: ["prefs.jsonl", "not TruthfulQA"])

        let orphan = dir.appendingPathComponent("orphan.safetensors")
        try FileManager.default.copyItem(atPath: steering, toPath: orphan.path)
        let noRecord = try CLI.run(["eval", "truthfulqa", "--model", model.path, "--steering", orphan.path, "--limit", "2"])
        assertRuntimeError(noRecord, mentions: ["orphan.json", "orphan.safetensors"])
        let logits = try CLI.run(["logits", "--model", model.path, "--steering", orphan.path, "hi"])
        XCTAssertEqual(logits.status, 0, logits.output)
        XCTAssertTrue(logits.stderr.contains("no record"), logits.stderr)

        // Another model of the same shape (a changed config value changes the fingerprint): the
        // file fits, so generate/logits apply it with a warning; eval refuses.
        let twin = dir.appendingPathComponent("twin")
        try FileManager.default.copyItem(at: model, to: twin)
        let config = twin.appendingPathComponent("config.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as! [String: Any]
        json["rms_norm_eps"] = 2e-5
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        let warned = try CLI.run(["logits", "--model", twin.path, "--steering", steering, "hi"])
        XCTAssertEqual(warned.status, 0, warned.output)
        XCTAssertTrue(warned.stderr.contains("warning: \(steering) was trained on model sha256"), warned.stderr)
        let refused = try CLI.run(["eval", "truthfulqa", "--model", twin.path, "--steering", steering, "--limit", "2"])
        assertRuntimeError(refused, mentions: ["was trained on model sha256"])
    }

    func testAblateAndScrubWorkOnAHuggingFaceDirectory() throws {
        let ablate = try CLI.run(
            ["ablate", "--model", model.path, "--task", "induction", "--count", "3", "--length", "4",
             "--token-range", "1:200", "--components", "L0H1;mlp1", "--kind", "zero", "--json"])
        XCTAssertEqual(ablate.status, 0, ablate.output)
        XCTAssertTrue(ablate.stdout.contains("modelSHA256"), ablate.stdout)
        let bad = try CLI.run(
            ["ablate", "--model", model.path, "--task", "induction", "--count", "3", "--length", "4",
             "--token-range", "1:200", "--components", "L0H9"])
        assertRuntimeError(bad, mentions: ["L0H9"])
        let hypothesis = dir.appendingPathComponent("h.json")
        try Data(#"{"components": [{"component": "L0H1", "feature": "input"}]}"#.utf8).write(to: hypothesis)
        let scrub = try CLI.run(
            ["scrub", hypothesis.path, "--model", model.path, "--task", "induction", "--count", "3", "--length", "4",
             "--token-range", "1:200", "--bootstrap", "20", "--json"])
        XCTAssertEqual(scrub.status, 0, scrub.output)
    }

    /// `probe --questions 4` (2 folds, validation fraction 0.2) left every fold without a
    /// validation question and crashed after the collection (`EncodingError … nan`, issue 13).
    /// Now an error naming the counts and the fixes, before any activation is collected (no cache
    /// written); with the suggested --validation-fraction the same 4 questions run.
    func testProbeWithTooFewQuestionsIsAClearErrorBeforeCollecting() throws {
        let config = model.appendingPathComponent("config.json")  // room for the longest choice
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as! [String: Any]
        json["max_position_embeddings"] = 4096
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        let cache = dir.appendingPathComponent("cache")
        let ranking = dir.appendingPathComponent("r.json").path
        let few = try CLI.run(
            ["probe", "--model", model.path, "--questions", "4", "--top-k", "4", "--output", ranking,
             "--cache-directory", cache.path])
        assertRuntimeError(few, mentions: ["4 questions", "0 for validation", "--questions 6", "--validation-fraction 0.3"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache.path), "activations were collected")
        XCTAssertFalse(FileManager.default.fileExists(atPath: ranking))
        let wider = try CLI.run(
            ["probe", "--model", model.path, "--questions", "4", "--top-k", "4", "--output", ranking,
             "--validation-fraction", "0.3", "--cache-directory", cache.path])
        XCTAssertEqual(wider.status, 0, wider.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: ranking))
    }

    /// `eval truthfulqa --heads random --k K` with K beyond the model's heads was a precondition
    /// trap; it is an error naming --k. (The tiny llama's context is widened for TruthfulQA's
    /// few-shot prompts, byte-tokenized.)
    func testEvalRefusesMoreRandomHeadsThanTheModelHas() throws {
        let config = model.appendingPathComponent("config.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as! [String: Any]
        json["max_position_embeddings"] = 4096
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        let ranking = dir.appendingPathComponent("r.json").path
        let probe = try CLI.run(
            ["probe", "--model", model.path, "--questions", "20", "--top-k", "4", "--output", ranking,
             "--cache-directory", dir.appendingPathComponent("cache").path])
        XCTAssertEqual(probe.status, 0, probe.output)
        let tooMany = try CLI.run(
            ["eval", "truthfulqa", "--model", model.path, "--probe", ranking, "--heads", "random", "--k", "1000",
             "--no-generation", "--no-side-effects"])
        assertRuntimeError(tooMany, mentions: ["--k 1000", "8"])
        let fine = try CLI.run(
            ["eval", "truthfulqa", "--model", model.path, "--probe", ranking, "--heads", "random", "--k", "3",
             "--limit", "1", "--no-generation", "--no-side-effects"])
        XCTAssertEqual(fine.status, 0, fine.output)

        // The table: one row per group, then the "all" row once; with one group its own row is
        // the total, so "all" is not printed a second time (it was, for the unedited run).
        func rows(_ r: CLI.Result, _ name: String) -> Int {
            r.stderr.split(separator: "\n").filter { $0.hasPrefix(name + " ") }.count
        }
        XCTAssertEqual(rows(fine, "fold 0"), 1, fine.stderr)
        XCTAssertEqual(rows(fine, "fold 1"), 1, fine.stderr)
        XCTAssertEqual(rows(fine, "all"), 1, fine.stderr)
        let oneFold = try CLI.run(
            ["eval", "truthfulqa", "--model", model.path, "--probe", ranking, "--heads", "random", "--k", "3",
             "--fold", "0", "--limit", "1", "--no-generation", "--no-side-effects"])
        XCTAssertEqual(oneFold.status, 0, oneFold.output)
        XCTAssertEqual(rows(oneFold, "fold 0"), 1, oneFold.stderr)
        XCTAssertEqual(rows(oneFold, "all"), 0, oneFold.stderr)
        let unedited = try CLI.run(
            ["eval", "truthfulqa", "--model", model.path, "--limit", "2", "--no-generation", "--no-side-effects"])
        XCTAssertEqual(unedited.status, 0, unedited.output)
        XCTAssertEqual(rows(unedited, "all"), 1, unedited.stderr)
        XCTAssertTrue(unedited.stderr.contains("all             2 "), unedited.stderr)
    }

    /// A checkpoint with a NaN weight makes `logits` an error naming the model file, not
    /// `"logit": null` with exit 0 (the loader's finite-weight check; `DecoderModel.forward` also
    /// refuses non-finite logits).
    func testNonFiniteLogitsAreAnError() throws {
        let weights = model.appendingPathComponent("model.safetensors")
        let source = try SafetensorsFile(url: weights)
        var tensors: [SafetensorsWriter.Tensor] = []
        for name in source.tensorNames {
            var values = try source.floats(named: name)
            if name == "model.norm.weight" { values[0] = .nan }
            tensors.append(.init(name: name, shape: source.shape(of: name)!, values: values))
        }
        try FileManager.default.removeItem(at: weights)
        try SafetensorsWriter.write(tensors, to: weights)
        let r = try CLI.run(["logits", "--model", model.path, "--json", "hello"])
        assertRuntimeError(r, mentions: [model.path])
        XCTAssertTrue(
            ["non-finite", "NaN", "not finite"].contains { r.stderr.contains($0) }, r.stderr)
        XCTAssertFalse(r.stdout.contains("null"), r.stdout)
    }

    func testGenerateSaysWhenItStopsAtTheContextLimit() throws {
        // The tiny model's context is 128 tokens.
        let r = try CLI.run(["generate", "--model", model.path, "--max-tokens", "500", "abc"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stderr.contains("context of 128 tokens"), r.stderr)
    }

    func testInvalidUTF8ArgumentIsAnError() throws {
        let binary = try CLI.binary()
        let r = try CLI.run(
            executable: URL(fileURLWithPath: "/bin/sh"),
            ["-c", "exec \"$0\" tokenize --model \"$1\" \"$(printf 'ab\\377cd')\"", binary.path, model.path])
        assertRuntimeError(r, mentions: ["not valid UTF-8"])
    }

    /// Recipes that used to trap or write outside runs/ are load errors naming the field; a
    /// --dry-run works while a sweep holds the results lock.
    func testRecipeErrorsAndDryRunWithoutTheLock() throws {
        func recipe(_ name: String, _ text: String) throws -> String {
            try Data(text.utf8).write(to: dir.appendingPathComponent(name))
            return name
        }
        let cases: [(String, String)] = [
            (#"{"name": "e", "headSets": [{"kind": "all"}], "methods": [{"kind": "ipo", "tau": [0.1], "epochs": -1}]}"#, "methods[0].epochs"),
            (#"{"name": "e", "seeds": [-1], "headSets": [{"kind": "all"}], "methods": [{"kind": "iti", "alpha": [1], "ranking": "r"}]}"#, "seeds[0]"),
            (#"{"name": "e", "headSets": [{"kind": "all"}], "methods": [{"kind": "ablate", "ablation": ["zero"], "items": -5}]}"#, "methods[0].items"),
            (#"{"name": "e", "headSets": [{"kind": "all"}], "methods": [{"kind": "scrub", "length": 0}]}"#, "methods[0].length"),
            (#"{"name": "e", "headSets": [{"kind": "all"}], "methods": [{"kind": "scrub", "bootstrap": 0}]}"#, "methods[0].bootstrap"),
            (#"{"name": "e", "headSets": [{"kind": "random", "k": 3, "count": 1000000000}], "methods": [{"kind": "iti", "alpha": [1], "ranking": "r"}]}"#, "headSets[0].count"),
            (#"{"name": "../escape", "headSets": [{"kind": "all"}], "methods": [{"kind": "iti", "alpha": [1], "ranking": "r"}]}"#, "name"),
        ]
        for (i, (text, field)) in cases.enumerated() {
            let file = try recipe("r\(i).json", text)
            for extra in [[], ["--dry-run"]] {
                let r = try CLI.run(["run", file, "--executor", "fake"] + extra, in: dir)
                assertRuntimeError(r, mentions: ["r\(i).json", field])
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("escape.jsonl").path))

        let ok = try recipe("ok.json", #"{"name": "ok", "headSets": [{"kind": "random", "k": 2, "count": 4}], "methods": [{"kind": "iti", "alpha": [1, 2], "ranking": "r"}]}"#)
        let p = Process()
        p.executableURL = try CLI.binary()
        p.arguments = ["run", ok, "--executor", "fake", "--fake-sleep", "1", "--results", "ok.jsonl"]
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate() }; p.waitUntilExit() }
        // Wait (however loaded the machine) until the sweep has finished a run and holds the lock.
        let results = dir.appendingPathComponent("ok.jsonl")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, ((try? String(contentsOf: results, encoding: .utf8)) ?? "").isEmpty {
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertTrue(p.isRunning, "the sweep (8 runs of 1 s) should still hold the lock")
        let dry = try CLI.run(["run", ok, "--executor", "fake", "--results", "ok.jsonl", "--dry-run"], in: dir)
        XCTAssertTrue(p.isRunning, "the dry run must have run while the sweep held the lock")
        XCTAssertEqual(dry.status, 0, dry.output)
        XCTAssertTrue(dry.stdout.contains("done"), "a run finished before the dry run: \(dry.stdout)")
        XCTAssertTrue(dry.stdout.contains("todo"), dry.stdout)
    }

    func testReportNamesMissingFilesAndWarnsAboutGarbage() throws {
        let missing = try CLI.run(["report", "nope.jsonl", "--out", "rep"], in: dir)
        assertRuntimeError(missing, mentions: ["nope.jsonl"])
        try Data("garbage\n{\"not\": \"a record\"}\n\u{00}\u{01}\n".utf8).write(to: dir.appendingPathComponent("g.jsonl"))
        let garbage = try CLI.run(["report", "g.jsonl", "--out", "rep"], in: dir)
        assertRuntimeError(garbage, mentions: ["g.jsonl", "skipped 3 line", "1, 2, 3"])
    }
}
