import Foundation
import LocusEvaluation
import LocusModel
import LocusTensor
import LocusTestSupport
import XCTest

/// The TruthfulQA judge pipeline on the stand-in judge (tiny random llama + SentencePiece
/// tokenizer with "▁yes"/"▁no"; the real Llama-2-7B judges cannot be fetched here): prompts,
/// token ids, p(" yes")/p(" no") and verdicts equal what PyTorch + transformers compute on the
/// same checkpoint (`scripts/reference/make_model_fixtures.py judge`).
final class TruthfulQAJudgeTests: XCTestCase {
    struct Case: Decodable {
        var kind: String, question: String, answer: String, prompt: String
        var ids: [Int]
        var p_yes: Double, p_no: Double
        var accepted: Bool
    }
    struct Reference: Decodable {
        struct TokenizerInfo: Decodable { var yes_id: Int, no_id: Int }
        var tokenizer: TokenizerInfo
        var cases: [Case]
    }

    func reference() throws -> Reference {
        try JSONDecoder().decode(
            Reference.self,
            from: Data(contentsOf: TestEnvironment.tinyJudgeURL.appendingPathComponent("reference.json")))
    }

    func testMatchesTransformersOnTheStandIn() throws {
        BLAS.setThreadCount(1)
        let reference = try reference()
        for weights in WeightStorage.allCases {
            let lm = try LanguageModel.load(from: TestEnvironment.tinyJudgeURL, weights: weights)
            for kind in TruthfulQAJudge.Kind.allCases {
                let judge = try TruthfulQAJudge(model: lm, kind: kind, batchSize: 3)
                XCTAssertEqual(judge.yesID, reference.tokenizer.yes_id)
                XCTAssertEqual(judge.noID, reference.tokenizer.no_id)
                let cases = reference.cases.filter { $0.kind == kind.rawValue }
                XCTAssertEqual(cases.count, 8)
                for c in cases {
                    let prompt = TruthfulQAJudge.prompt(kind: kind, question: c.question, answer: c.answer)
                    XCTAssertEqual(prompt, c.prompt)
                    XCTAssertEqual(lm.tokenizer.encodePrompt(prompt), c.ids, "BOS + SentencePiece ids")
                }
                // Packed in batches of 3 (ragged lengths): each verdict as if judged alone.
                let verdicts = try judge.judge(cases.map { ($0.question, $0.answer) })
                for (c, v) in zip(cases, verdicts) {
                    XCTAssertEqual(v.pYes, c.p_yes, accuracy: 1e-5 + 1e-4 * c.p_yes, "\(kind) \(c.answer)")
                    XCTAssertEqual(v.pNo, c.p_no, accuracy: 1e-5 + 1e-4 * c.p_no, "\(kind) \(c.answer)")
                    XCTAssertEqual(v.accepted, c.accepted, "\(kind) \(c.answer)")
                }
                let summary = JudgeSummary(truth: verdicts, info: verdicts)
                let share = Double(cases.filter(\.accepted).count) / Double(cases.count)
                XCTAssertEqual(summary.truth, share, accuracy: 1e-12)
                XCTAssertEqual(summary.truthTimesInfo, share * share, accuracy: 1e-12)
            }
        }
        // The fixture is only a useful test when the verdicts differ.
        XCTAssertTrue(reference.cases.contains { $0.accepted } && reference.cases.contains { !$0.accepted })
    }

    /// A judge whose tokenizer has no single " yes" token is refused, naming the file.
    func testRefusesATokenizerWithoutOneYesToken() throws {
        let byteModel = try TestEnvironment.tinyLanguageModel()
        XCTAssertThrowsError(try TruthfulQAJudge(model: byteModel, kind: .truth)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("tiny-llama") && text.contains("\" yes\""), text)
        }
    }

    func testVerdictRule() {
        XCTAssertTrue(JudgeVerdict(pYes: 0.5, pNo: 0.1).accepted)
        XCTAssertFalse(JudgeVerdict(pYes: 0.49, pNo: 0.1).accepted)
        XCTAssertTrue(JudgeVerdict(pYes: 0.49, pNo: 0.1).yesOverNo)
        let s = JudgeSummary(
            truth: [.init(pYes: 0.9, pNo: 0.1), .init(pYes: 0.4, pNo: 0.1)],
            info: [.init(pYes: 0.6, pNo: 0.3), .init(pYes: 0.7, pNo: 0.2)])
        XCTAssertEqual(s.truth, 0.5)
        XCTAssertEqual(s.info, 1)
        XCTAssertEqual(s.truthTimesInfo, 0.5)
        XCTAssertEqual(s.truthMeanPYes, 0.65, accuracy: 1e-12)
        XCTAssertEqual(s.thresholdDisagreements, 1)
    }
}
