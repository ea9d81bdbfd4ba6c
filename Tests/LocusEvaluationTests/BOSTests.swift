import Foundation
import LocusData
@testable import LocusEvaluation
import LocusModel
import LocusTestSupport
import XCTest

/// A checkpoint whose tokenizer config adds BOS gets it at position 0 of the multiple-choice
/// prompt: the scores equal scoring `[BOS] + prompt` by hand.
final class EvaluationBOSTests: XCTestCase {
    func testMultipleChoicePromptStartsWithBOS() throws {
        let lm = try TestEnvironment.tinyLanguageModel(addingBOS: true)
        let bos = TestEnvironment.tinyBOS
        let prompt = TruthfulQAPrompt(instruction: nil, primer: "Q: What is 1+1?\nA: 2.")
        let evaluator = try MultipleChoiceEvaluator(model: lm, prompt: prompt)
        XCTAssertEqual(evaluator.prefix.first, bos)
        let question = TruthfulQAQuestion(
            id: 0, type: "Adversarial", category: "Math", question: "What is 2+2?",
            bestAnswer: "Four", correctAnswers: ["Four"], incorrectAnswers: ["Five", "Three"],
            source: "test")
        let run = try evaluator.evaluate([question])
        let sets = MultipleChoiceEvaluator.answerSets(question)
        let bytes = { (text: String) in text.utf8.map(Int.init) }
        for (addBOS, shouldMatch) in [(true, true), (false, false)] {
            let reference = try lm.model.scoreContinuations(
                prompt: (addBOS ? [bos] : []) + bytes(prompt.prompt(question.question)),
                continuations: (sets.true + sets.false).map { bytes(" " + $0) })
            let scores = run.results[0].trueScores + run.results[0].falseScores
            let largest = zip(scores, reference.map(\.total)).map { abs($0 - $1) }.max()!
            if shouldMatch {
                XCTAssertLessThan(largest, 1e-3)
            } else {
                XCTAssertGreaterThan(largest, 1e-3, "the BOS must change the scores")
            }
        }
    }
}
