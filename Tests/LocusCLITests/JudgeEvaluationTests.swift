import Foundation
import LocusData
import LocusEvaluation
import LocusModel
import LocusTensor
import LocusTestSupport
import XCTest

/// `locus eval truthfulqa --truth-judge --info-judge` end to end: SmolLM2 generates answers,
/// the stand-in judge (tiny random llama + SentencePiece tokenizer with "▁yes"/"▁no", standing
/// in for AllenAI's Llama-2-7B judges, which cannot be fetched here) scores them, and every
/// recorded verdict and summary equals what `TruthfulQAJudge` gives on the recorded answer.
final class JudgeEvaluationTests: XCTestCase {
    func testEvalScoresGenerationsWithTheJudges() throws {
        let dir = try TestEnvironment.temporaryDirectory("cli-judges")
        let judge = TestEnvironment.tinyJudgeURL.path
        let recordURL = dir.appendingPathComponent("record.json")
        let r = try CLI.run(
            ["eval", "truthfulqa", "--model", try TestEnvironment.modelURL().path, "--limit", "5",
             "--no-mc", "--no-side-effects", "--max-new-tokens", "8", "--generation-batch", "5",
             "--truth-judge", judge, "--info-judge", judge, "--judge-batch", "2", "--per-question",
             "--threads", "1", "--output", recordURL.path])
        XCTAssertEqual(r.status, 0, r.output)
        // Labelled as the judges', naming the file; the substitutes are named as such.
        XCTAssertTrue(r.stderr.contains("truth†") && r.stderr.contains("† judges: truth (judge tiny-judge"), r.stderr)
        XCTAssertTrue(r.stderr.contains("offline substitutes (not the judges)"), r.stderr)
        XCTAssertFalse(r.stderr.contains("* offline substitutes:"), r.stderr)

        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: recordURL)) as! [String: Any]
        let metrics = record["metrics"] as! [String: Any]
        let group = (record["groups"] as! [[String: Any]])[0]
        let perQuestion = group["per_question"] as! [[String: Any]]
        XCTAssertEqual(perQuestion.count, 5)

        // Recompute every verdict in process, one answer at a time (the CLI packed 2 per call).
        BLAS.setThreadCount(1)
        let lm = try LanguageModel.load(from: TestEnvironment.tinyJudgeURL, weights: .stored)
        let tqa = try TestEnvironment.truthfulQA()
        var accepted: [String: [Bool]] = ["truth": [], "info": []]
        for kind in TruthfulQAJudge.Kind.allCases {
            let judge = try TruthfulQAJudge(model: lm, kind: kind, batchSize: 1)
            for q in perQuestion {
                let question = tqa.questions[q["id"] as! Int].question
                let v = try judge.judge([(question, q["answer"] as! String)])[0]
                XCTAssertEqual(q["\(kind.rawValue)_judge_p_yes"] as! Double, v.pYes, accuracy: 1e-5 + 1e-4 * v.pYes)
                XCTAssertEqual(q["\(kind.rawValue)_judge_p_no"] as! Double, v.pNo, accuracy: 1e-5 + 1e-4 * v.pNo)
                XCTAssertEqual(q["\(kind.rawValue)_judge"] as! Bool, v.accepted)
                accepted[kind.rawValue]!.append(v.accepted)
            }
        }
        func share(_ xs: [Bool]) -> Double { Double(xs.filter { $0 }.count) / Double(xs.count) }
        let truth = share(accepted["truth"]!), info = share(accepted["info"]!)
        XCTAssertEqual(group["truth_judge"] as! Double, truth, accuracy: 1e-12)
        XCTAssertEqual(group["info_judge"] as! Double, info, accuracy: 1e-12)
        XCTAssertEqual(metrics["truth*info (judges)"] as! Double, truth * info, accuracy: 1e-12)
        XCTAssertNotNil(metrics["truth (judge tiny-judge: p(yes) ≥ 0.5 after \"True:\")"], "\(metrics.keys)")
        XCTAssertNotNil(metrics["truth (BLEU-acc substitute for GPT-judge)"], "substitutes stay, named as such")
        let judges = (record["configuration"] as! [String: Any])["judges"] as! [String: Any]
        XCTAssertEqual(judges["truth"] as? String, judge)
    }

    /// A journaled run journals the judges' verdicts batch by batch: cut the judge journal back
    /// to two truth batches (as a kill would leave it) and rerun: the phase resumes at the third
    /// batch and the record equals the uninterrupted one's; another judge batch size is refused,
    /// naming the field; shards refuse the judges (they run once, at --merge).
    func testJudgesAreJournaledAndResume() throws {
        let dir = try TestEnvironment.temporaryDirectory("cli-judges-journal")
        let judge = TestEnvironment.tinyJudgeURL.path
        let journal = dir.appendingPathComponent("run.jsonl")
        let judgeLog = URL(fileURLWithPath: journal.path + ".judges")
        func run(_ output: String, extra: [String] = []) throws -> (CLI.Result, [String: Any]?) {
            let url = dir.appendingPathComponent(output)
            let r = try CLI.run(
                ["eval", "truthfulqa", "--model", try TestEnvironment.modelURL().path, "--limit", "5",
                 "--no-mc", "--no-side-effects", "--max-new-tokens", "8", "--generation-batch", "5",
                 "--truth-judge", judge, "--info-judge", judge, "--judge-batch", "2", "--per-question",
                 "--threads", "1", "--journal", journal.path, "--output", url.path] + extra)
            let record = r.status == 0 ? try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] : nil
            return (r, record)
        }
        let (first, whole) = try run("whole.json")
        XCTAssertEqual(first.status, 0, first.output)
        func lines() throws -> [String] {
            try String(contentsOf: judgeLog, encoding: .utf8).split(separator: "\n").map(String.init)
        }
        // Header + 3 truth batches (2 + 2 + 1 answers) + 3 info batches.
        XCTAssertEqual(try lines().count, 7)
        try (lines().prefix(3).joined(separator: "\n") + "\n").write(to: judgeLog, atomically: true, encoding: .utf8)

        let (second, resumed) = try run("resumed.json")
        XCTAssertEqual(second.status, 0, second.output)
        XCTAssertTrue(second.stderr.contains("resuming after 4 truth, 0 info verdicts of 5 answers"), second.stderr)
        XCTAssertEqual(try lines().count, 7)
        let a = (whole!["groups"] as! [[String: Any]])[0], b = (resumed!["groups"] as! [[String: Any]])[0]
        for key in ["truth_judge", "info_judge"] { XCTAssertEqual(a[key] as? Double, b[key] as? Double, key) }
        let qa = a["per_question"] as! [[String: Any]], qb = b["per_question"] as! [[String: Any]]
        for (x, y) in zip(qa, qb) {
            for key in ["truth_judge_p_yes", "truth_judge_p_no", "info_judge_p_yes", "info_judge_p_no"] {
                XCTAssertEqual(x[key] as? Double, y[key] as? Double, key)
            }
        }

        let before = try Data(contentsOf: judgeLog)
        let (other, _) = try run("other.json", extra: ["--judge-batch", "3"])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.stderr.contains("was written with judge_batch = 2, this run has judge_batch = 3"), other.stderr)
        XCTAssertEqual(try Data(contentsOf: judgeLog), before)

        let (sharded, _) = try run("shard.json", extra: ["--shard", "0/2"])
        XCTAssertNotEqual(sharded.status, 0)
        XCTAssertTrue(sharded.stderr.contains("give --truth-judge/--info-judge to --merge"), sharded.stderr)
    }

    func testJudgesGoTogether() throws {
        let r = try CLI.run(["eval", "truthfulqa", "--truth-judge", TestEnvironment.tinyJudgeURL.path, "--limit", "1"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--truth-judge and --info-judge go together"), r.stderr)
        let missing = try CLI.run(
            ["eval", "truthfulqa", "--truth-judge", "/nonexistent/judge.gguf", "--info-judge", "/nonexistent/judge.gguf"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("/nonexistent/judge.gguf"), missing.stderr)
    }
}
