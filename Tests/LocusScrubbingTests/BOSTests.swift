import Foundation
import LocusData
import LocusScrubbing
import LocusTestSupport
import XCTest

/// A checkpoint whose tokenizer config adds BOS gets it at position 0 of each TruthfulQA
/// scrubbing sequence; the answers continue the prompt and the metric's targets move with it.
final class ScrubBOSTests: XCTestCase {
    func testTruthfulQATaskSequencesStartWithBOS() throws {
        let question = TruthfulQAQuestion(
            id: 7, type: "Adversarial", category: "Science", question: "Is the sky blue?",
            bestAnswer: "Yes", correctAnswers: ["Yes"], incorrectAnswers: ["No"], source: "test")
        let bos = TestEnvironment.tinyBOS
        let plain = try XCTUnwrap(
            TruthfulQATask.items(questions: [question], tokenizer: ByteTokenizer()).first)
        let item = try XCTUnwrap(
            TruthfulQATask.items(questions: [question], tokenizer: ByteTokenizer(bosID: bos)).first)
        XCTAssertEqual(item.sequences.map { $0.first }, [bos, bos])
        XCTAssertEqual(item.sequences, plain.sequences.map { [bos] + $0 })
        let prompt = Array("Q: Is the sky blue?\nA:".utf8).count
        XCTAssertEqual(item.metric.map(\.targets),
                       [(prompt + 1)..<(prompt + 1 + 4), (prompt + 1)..<(prompt + 1 + 3)])
        XCTAssertEqual(plain.metric.map(\.targets),
                       [prompt..<(prompt + 4), prompt..<(prompt + 3)])
    }
}
