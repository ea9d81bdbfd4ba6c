import Foundation
import LocusTestSupport
import LocusTracing
import XCTest

/// A checkpoint whose tokenizer config adds BOS gets it at position 0 of a trace prompt, and the
/// subject's token range moves past it.
final class TraceBOSTests: XCTestCase {
    func testTracePromptStartsWithBOS() throws {
        let bos = TestEnvironment.tinyBOS
        let prompt = "The Eiffel Tower is in"
        let plain = try SubjectTokens(prompt: prompt, subject: "Eiffel Tower", tokenizer: ByteTokenizer())
        let located = try SubjectTokens(
            prompt: prompt, subject: "Eiffel Tower", tokenizer: ByteTokenizer(bosID: bos))
        XCTAssertEqual(located.tokens, [bos] + plain.tokens)
        XCTAssertEqual(located.subject, plain.subject.lowerBound + 1..<plain.subject.upperBound + 1)
        // A subject at the very start follows the BOS.
        let first = try SubjectTokens(
            prompt: "Paris is a city", subject: "Paris", tokenizer: ByteTokenizer(bosID: bos))
        XCTAssertEqual(first.tokens.first, bos)
        XCTAssertEqual(first.subject, 1..<6)
    }
}
