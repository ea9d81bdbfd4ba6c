import LocusTokenizer
import XCTest

/// SmolLM2-135M-Instruct's tokenizer read from the real GGUF, against the reference ids in
/// Fixtures/smollm2_tokenizer.json (written by scripts/reference/make_tokenizer_fixtures.py).
final class SmolLM2ParityTests: XCTestCase {
    private var tokenizer: BPETokenizer!
    private var fixture: SmolLMFixture!

    override func setUpWithError() throws {
        tokenizer = try TestResources.smolLM.get()
        fixture = try loadFixture(SmolLMFixture.self, "smollm2_tokenizer.json")
    }

    func testVocabularyMetadata() {
        XCTAssertEqual(tokenizer.vocabularySize, 49_152)
        XCTAssertEqual(tokenizer.vocabulary.preTokenizer, .smolLM)
        XCTAssertEqual(tokenizer.vocabulary.merges.count, 48_900)
        XCTAssertEqual(tokenizer.bosID, 1)
        XCTAssertEqual(tokenizer.eosID, 2)
        XCTAssertEqual(tokenizer.vocabulary.unknownID, 0)
        XCTAssertEqual(tokenizer.vocabulary.paddingID, 2)
        XCTAssertEqual(tokenizer.tokenString(1), "<|im_start|>")
        XCTAssertEqual(tokenizer.id(of: "Ġthe"), 260)
    }

    func testEveryFixtureTextMatchesTheReference() {
        XCTAssertGreaterThan(fixture.cases.count, 50)
        assertMatches(tokenizer, fixture.cases)
    }

    func testAllTruthfulQAQuestions() {
        let questions = fixture.truthfulQAQuestions
        XCTAssertEqual(questions.texts.count, 817)
        for (text, expected) in zip(questions.texts, questions.ids) {
            XCTAssertEqual(tokenizer.encode(text), expected, text)
            assertSameScalars(tokenizer.decode(expected), text, "round trip")
        }
    }

    /// Whole files (TruthfulQA CSV, wikitext-2 valid and test, known_1000.json): 800k ids.
    func testWholeCorporaMatchTheReference() throws {
        try assertMatches(tokenizer, fixture.corpusDigests)
    }

    /// Prefixes and suffixes of multi-byte texts: incomplete UTF-8 becomes U+FFFD exactly as
    /// Rust's `String::from_utf8_lossy` (Hugging Face's decoder) replaces it.
    func testPartialDecodesReplaceInvalidUTF8LikeTheReference() {
        XCTAssertGreaterThan(fixture.partialDecodes.count, 20)
        for item in fixture.partialDecodes {
            assertSameScalars(tokenizer.decode(item.ids), item.decoded, "\(item.ids)")
        }
    }

    /// The reference check found that transformers' GGUF converter drops SmolLM2's digit
    /// splitting; our tokenizer must follow the corrected reference, not the converter.
    func testConverterDifferenceIsRecordedAndNotReproduced() {
        XCTAssertFalse(fixture.reference.converterReproducesSmolLM)
        let reference = fixture.reference.referencePreTokenizer
        XCTAssert(reference.contains("Digits(individual_digits=True)"), reference)
        let differing = fixture.cases.filter { $0.converterIDs != nil }
        XCTAssertFalse(differing.isEmpty)
        for item in differing {
            XCTAssertNotEqual(tokenizer.encode(item.text), item.converterIDs, item.name)
        }
    }

    func testChatMLSpecialTokensBecomeTheirIDs() {
        let ids = tokenizer.encode("<|im_start|>user\nHi<|im_end|>\n")
        XCTAssertEqual(ids.first, 1)
        XCTAssertEqual(ids.filter { $0 == 2 }.count, 1)
        XCTAssertEqual(tokenizer.decode(ids), "<|im_start|>user\nHi<|im_end|>\n")
        XCTAssertEqual(tokenizer.encode(""), [])
        XCTAssertEqual(tokenizer.decode([]), "")
        XCTAssertEqual(tokenizer.decode([-1, 1_000_000]), "", "unknown ids are skipped")
    }

    func testConcurrentEncodingGivesTheSameIDs() {
        let texts = fixture.cases.map(\.text)
        let expected = fixture.cases.map(\.ids)
        let tokenizer = self.tokenizer!
        let results = ResultsBox(count: texts.count * 4)
        DispatchQueue.concurrentPerform(iterations: texts.count * 4) { index in
            results.set(index, tokenizer.encode(texts[index % texts.count]))
        }
        for index in 0..<texts.count * 4 {
            XCTAssertEqual(results.get(index), expected[index % texts.count])
        }
    }
}

/// A lock-protected array for collecting results from concurrent work.
private final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [[Int]]

    init(count: Int) { values = Array(repeating: [], count: count) }

    func set(_ index: Int, _ value: [Int]) {
        lock.lock()
        values[index] = value
        lock.unlock()
    }

    func get(_ index: Int) -> [Int] {
        lock.lock()
        defer { lock.unlock() }
        return values[index]
    }
}
