import Foundation
import LocusData
import LocusSteering
import LocusTestSupport
import XCTest

/// A checkpoint whose tokenizer config adds BOS gets it at position 0 of each steering pair's
/// prompt; the answers continue the prompt and get none.
final class SteeringBOSTests: XCTestCase {
    func testSteeringPairPromptStartsWithBOS() {
        let pair = PreferencePair(prompt: "Q: Is it safe?\nA:", chosen: " Yes.", rejected: " No.", group: 3)
        let bos = TestEnvironment.tinyBOS
        let plain = TokenizedPair(pair, tokenizer: ByteTokenizer())
        let tokenized = TokenizedPair(pair, tokenizer: ByteTokenizer(bosID: bos))
        XCTAssertEqual(tokenized.prompt, [bos] + plain.prompt)
        XCTAssertEqual(tokenized.chosen, plain.chosen)
        XCTAssertEqual(tokenized.rejected, plain.rejected)
        XCTAssertEqual(tokenized.group, 3)
    }
}
