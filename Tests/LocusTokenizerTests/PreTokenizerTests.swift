import LocusTokenizer
import XCTest

/// The three scanners against the pieces Oniguruma produces for the same patterns in Hugging
/// Face `tokenizers` (Fixtures/pretokenizer_splits.json). Llama 3 has no vocabulary here, so
/// its scanner is checked at this level.
final class PreTokenizerTests: XCTestCase {
    private struct Fixture: Decodable {
        struct Case: Decodable {
            let text: String
            let gpt2: [String]
            let smollm: [String]
            let llama3: [String]
        }

        let cases: [Case]
    }

    func testScannersMatchTheRegexEngine() throws {
        let fixture = try loadFixture(Fixture.self, "pretokenizer_splits.json")
        XCTAssertGreaterThan(fixture.cases.count, 60)
        for item in fixture.cases {
            for (kind, expected) in [
                (PreTokenizerKind.gpt2, item.gpt2), (.smolLM, item.smollm), (.llama3, item.llama3),
            ] {
                let pieces = kind.split(item.text)
                let scalars = { (strings: [String]) in strings.map { Array($0.unicodeScalars) } }
                XCTAssert(
                    scalars(pieces) == scalars(expected),
                    "\(kind) \(item.text.debugDescription): got \(pieces), expected \(expected)")
            }
        }
    }

    func testDocumentedExamples() {
        XCTAssertEqual(PreTokenizerKind.gpt2.split("I'm here"), ["I", "'m", " here"])
        XCTAssertEqual(PreTokenizerKind.gpt2.split("a   b"), ["a", "  ", " b"])
        XCTAssertEqual(PreTokenizerKind.gpt2.split("x  "), ["x", "  "])
        XCTAssertEqual(PreTokenizerKind.smolLM.split("in 2024"), ["in", " ", "2", "0", "2", "4"])
        XCTAssertEqual(
            PreTokenizerKind.llama3.split("DON'T 12345"), ["DON", "'T", " ", "123", "45"])
        XCTAssertEqual(PreTokenizerKind.gpt2.split(""), [])
    }
}
