import Foundation
import LocusTokenizer
import XCTest

/// The tokenizer.json loader: a tiny hand-made file (Llama 3 pre-tokenizer, ignore_merges,
/// special and non-special added tokens) and SmolLM2's full tokenizer.json.
final class TokenizerJSONTests: XCTestCase {
    func testTinyTokenizerMatchesTheReference() throws {
        let vocabulary = try BPEVocabulary(
            tokenizerJSON: TestResources.fixture("tiny_tokenizer.json"))
        XCTAssertEqual(vocabulary.preTokenizer, .llama3)
        XCTAssertTrue(vocabulary.ignoresMerges)
        XCTAssertEqual(vocabulary.tokens.count, 274)
        XCTAssertEqual(vocabulary.tokenTypes[271], BPEVocabulary.TokenType.control.rawValue)
        XCTAssertEqual(vocabulary.tokenTypes[273], BPEVocabulary.TokenType.userDefined.rawValue)
        let fixture = try loadFixture(CasesFixture.self, "tiny_tokenizer_expected.json")
        assertMatches(BPETokenizer(vocabulary: vocabulary), fixture.cases)
    }

    /// BOS, EOS and padding come from a tokenizer_config.json beside the file, when there is one.
    func testSpecialTokenNamesComeFromTokenizerConfig() throws {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("locus-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("tokenizer.json")
        try FileManager.default.copyItem(at: TestResources.fixture("tiny_tokenizer.json"), to: url)
        let config = #"{"bos_token": "<|end|>", "eos_token": {"content": "<user>"}, "pad_token": null}"#
        try Data(config.utf8).write(to: folder.appendingPathComponent("tokenizer_config.json"))
        let vocabulary = try BPEVocabulary(tokenizerJSON: url)
        XCTAssertEqual(vocabulary.bosID, 271)
        XCTAssertEqual(vocabulary.eosID, 273)
        XCTAssertNil(vocabulary.paddingID)
        XCTAssertNil(try BPEVocabulary(
            tokenizerJSON: TestResources.fixture("tiny_tokenizer.json")).bosID)
    }

    /// models/smollm2-tokenizer.json is SmolLM2's faithful tokenizer.json (merges as pairs,
    /// Digits + ByteLevel pre-tokenizer), written by the fixture script.
    func testSmolLM2TokenizerJSONEqualsTheGGUFTokenizer() throws {
        let url = TestResources.smolLMTokenizerJSONURL
        guard FileManager.default.fileExists(atPath: url.path) else {
            XCTFail("missing \(url.path): run .venv-ref/bin/python "
                + "scripts/reference/make_tokenizer_fixtures.py (after scripts/fetch-model.sh)")
            return
        }
        let vocabulary = try BPEVocabulary(tokenizerJSON: url)
        let gguf = try TestResources.smolLM.get().vocabulary
        XCTAssertEqual(vocabulary.preTokenizer, .smolLM)
        XCTAssertEqual(vocabulary.tokens, gguf.tokens)
        XCTAssertEqual(vocabulary.merges, gguf.merges)
        XCTAssertEqual(vocabulary.tokenTypes, gguf.tokenTypes)
        let fixture = try loadFixture(SmolLMFixture.self, "smollm2_tokenizer.json")
        assertMatches(BPETokenizer(vocabulary: vocabulary), fixture.cases)
    }
}
