import LocusTokenizer
import XCTest

/// GPT-2's byte ↔ scalar map, observed through single-byte tokens of the GPT-2 vocabulary.
final class ByteLevelTests: XCTestCase {
    func testEveryByteRoundTrips() throws {
        let tokenizer = try TestResources.gpt2.get()
        XCTAssertEqual(tokenizer.id(of: "Ġ"), 220)
        XCTAssertEqual(tokenizer.id(of: "Ċ"), 198)
        XCTAssertEqual(tokenizer.id(of: "!"), 0)
        // GPT-2's first 256 ids are the byte scalars, in the order printable bytes first.
        for id in 0..<256 {
            let decoded = Array(tokenizer.decode([id]).utf8)
            XCTAssertFalse(decoded.isEmpty)
        }
        for byte in 0..<128 {
            let text = String(UnicodeScalar(UInt8(byte)))
            XCTAssertEqual(tokenizer.decode(tokenizer.encode(text)), text)
        }
        XCTAssertEqual(tokenizer.decode([tokenizer.id(of: "Ã")!, tokenizer.id(of: "©")!]), "é")
    }
}
