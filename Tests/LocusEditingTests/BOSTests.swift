import Foundation
import LocusEditing
import LocusTestSupport
import XCTest

/// A checkpoint whose tokenizer config adds BOS gets it at position 0 of ROME's prompts; the
/// target continues the prompt and gets none.
final class EditingBOSTests: XCTestCase {
    func testEditPromptStartsWithBOS() throws {
        let bos = TestEnvironment.tinyBOS
        let text = "The Eiffel Tower is in"
        let plain = try SubjectPosition(text: text, subject: "Eiffel Tower", tokenizer: ByteTokenizer())
        let position = try SubjectPosition(
            text: text, subject: "Eiffel Tower", tokenizer: ByteTokenizer(bosID: bos))
        XCTAssertEqual(position.tokens, [bos] + plain.tokens)
        XCTAssertEqual(position.lastSubjectToken, plain.lastSubjectToken + 1)
        let request = EditRequest(prompt: "{} is in", subject: "The Eiffel Tower", target: "Rome")
        XCTAssertEqual(request.targetTokens(ByteTokenizer(bosID: bos)), Array(" Rome".utf8).map(Int.init))
    }
}
