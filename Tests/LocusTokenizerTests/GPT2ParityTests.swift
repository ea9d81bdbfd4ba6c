import LocusTokenizer
import XCTest

/// GPT-2's vocab.json + merges.txt against transformers' GPT2TokenizerFast on the same texts
/// (Fixtures/gpt2_tokenizer.json).
final class GPT2ParityTests: XCTestCase {
    func testEveryFixtureTextMatchesTheReference() throws {
        let tokenizer = try TestResources.gpt2.get()
        let fixture = try loadFixture(CasesFixture.self, "gpt2_tokenizer.json")
        XCTAssertEqual(tokenizer.vocabularySize, 50_257)
        XCTAssertEqual(tokenizer.vocabulary.preTokenizer, .gpt2)
        XCTAssertEqual(tokenizer.bosID, 50_256)
        XCTAssertEqual(tokenizer.eosID, 50_256)
        XCTAssertGreaterThan(fixture.cases.count, 50)
        assertMatches(tokenizer, fixture.cases)
        try assertMatches(tokenizer, fixture.corpusDigests ?? [])
    }

    func testKnownIDs() throws {
        let tokenizer = try TestResources.gpt2.get()
        XCTAssertEqual(tokenizer.encode("Hello world"), [15496, 995])
        XCTAssertEqual(tokenizer.encode("<|endoftext|>"), [50256])
    }
}
