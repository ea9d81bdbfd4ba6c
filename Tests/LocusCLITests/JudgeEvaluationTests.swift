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
