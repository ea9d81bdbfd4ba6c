import Foundation
import LocusCheckpoint
import LocusTokenizer
import XCTest

/// One reference tokenisation by transformers: `ids` without special tokens, `prompt_ids` with
/// them (BOS where the tokenizer adds it), `decoded` = transformers' decode of `ids`.
struct SentencePieceCase: Decodable {
    let name: String
    let text: String
    let ids: [Int]
    let promptIDs: [Int]
    let decoded: String

    enum CodingKeys: String, CodingKey {
        case name, text, ids, decoded
        case promptIDs = "prompt_ids"
    }
}

struct SentencePieceFixture: Decodable {
    struct Variant: Decodable {
        let addBOS: Bool
        let cases: [SentencePieceCase]
        let corpusDigests: [CorpusDigest]

        enum CodingKeys: String, CodingKey {
            case cases
            case addBOS = "add_bos"
            case corpusDigests = "corpus_digests"
        }
    }

    let tokenizerJSON: Variant
    let legacyTokenizerJSON: Variant
    let gguf: Variant
    let sentencepieceLibraryIDs: [[Int]]

    enum CodingKeys: String, CodingKey {
        case gguf
        case tokenizerJSON = "tokenizer_json"
        case legacyTokenizerJSON = "legacy_tokenizer_json"
        case sentencepieceLibraryIDs = "sentencepiece_library_ids"
    }
}

struct Gemma3Fixture: Decodable {
    let gguf: String
    let vocabularySize: Int
    let bosID: Int
    let addBOS: Bool
    let cases: [SentencePieceCase]
    let corpusDigests: [CorpusDigest]

    enum CodingKeys: String, CodingKey {
        case gguf, cases
        case corpusDigests = "corpus_digests"
        case vocabularySize = "vocabulary_size"
        case bosID = "bos_id"
        case addBOS = "add_bos"
    }
}

/// Every case: exact ids, exact ids with BOS (`encodePrompt`), and transformers' decode.
func assertMatches(
    _ tokenizer: any Tokenizer, _ cases: [SentencePieceCase], _ label: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertGreaterThan(cases.count, 50, label, file: file, line: line)
    for item in cases {
        let ids = tokenizer.encode(item.text)
        if ids != item.ids {
            let common = min(ids.count, item.ids.count)
            let first = (0..<common).first { ids[$0] != item.ids[$0] } ?? common
            XCTFail(
                "\(label) \(item.name): ids differ from index \(first) (\(ids.count) vs "
                    + "\(item.ids.count)); got \(ids[first...].prefix(12)), expected "
                    + "\(item.ids[first...].prefix(12)) for \(item.text.debugDescription)",
                file: file, line: line)
        }
        XCTAssertEqual(tokenizer.encodePrompt(item.text), item.promptIDs,
                       "\(label) \(item.name) with special tokens", file: file, line: line)
        assertSameScalars(tokenizer.decode(item.ids), item.decoded, "\(label) \(item.name) decode",
                          file: file, line: line)
    }
}

/// Whole shared-data files: id count and FNV-1a digest as the reference's, and (where the
/// tokenizer adds no prefix space, which decoding cannot tell from a typed one) the round trip.
func assertMatches(
    _ tokenizer: any Tokenizer, _ digests: [CorpusDigest], roundTrip: Bool, _ label: String,
    file: StaticString = #filePath, line: UInt = #line
) throws {
    XCTAssertEqual(digests.count, 4, label, file: file, line: line)
    for digest in digests {
        let text = try sharedText(digest.path)
        let ids = tokenizer.encode(text)
        XCTAssertEqual(ids.count, digest.count, "\(label) \(digest.path)", file: file, line: line)
        XCTAssertEqual(fnv1a64(ids), digest.fnv1a64, "\(label) \(digest.path)", file: file, line: line)
        if roundTrip {
            XCTAssert(tokenizer.decode(ids).unicodeScalars.elementsEqual(text.unicodeScalars),
                      "\(label) \(digest.path) round trip", file: file, line: line)
        }
    }
}

/// SentencePiece tokenization against transformers: a SentencePiece BPE model trained by
/// scripts/reference/make_sentencepiece_fixtures.py, read from transformers' tokenizer.json
/// (merge rules), a Llama-2-style legacy tokenizer.json, and a tokenizer-only GGUF (piece
/// scores); and the real Gemma-3-270M GGUF's tokenizer.
final class SentencePieceParityTests: XCTestCase {
    func fixture() throws -> SentencePieceFixture {
        try loadFixture(SentencePieceFixture.self, "sentencepiece_expected.json")
    }

    func testTokenizerJSONMatchesTransformers() throws {
        let tokenizer = try TokenizerLoader.tokenizer(
            tokenizerJSON: TestResources.fixture("sentencepiece/tokenizer.json"))
        let sentencePiece = try XCTUnwrap(tokenizer as? SentencePieceTokenizer)
        let vocabulary = sentencePiece.vocabulary
        XCTAssertEqual(vocabulary.spacePrefix, .firstStretch)
        XCTAssertFalse(vocabulary.splitsAtSpaces)
        XCTAssertTrue(vocabulary.byteFallback)
        XCTAssertTrue(vocabulary.stripsLeadingSpaceOnDecode)
        guard case .mergeRules = vocabulary.mergePriority else {
            return XCTFail("tokenizer.json merges by its merge rules")
        }
        XCTAssertEqual(tokenizer.vocabularySize, 500)
        XCTAssertEqual(tokenizer.bosID, 1)
        XCTAssertEqual(tokenizer.eosID, 2)
        XCTAssertTrue(tokenizer.addsBOS)
        XCTAssertFalse(tokenizer.addsEOS)
        let fixture = try fixture()
        XCTAssertTrue(fixture.tokenizerJSON.addBOS)
        assertMatches(tokenizer, fixture.tokenizerJSON.cases, "tokenizer.json")
        try assertMatches(tokenizer, fixture.tokenizerJSON.corpusDigests, roundTrip: false,
                          "tokenizer.json")
    }

    /// Prepend + Replace normalizer: the `▁` goes before every stretch between special tokens,
    /// even one starting with a space; BOS from the TemplateProcessing (no tokenizer_config).
    func testLegacyTokenizerJSONMatchesTokenizers() throws {
        let tokenizer = try TokenizerLoader.tokenizer(
            tokenizerJSON: TestResources.fixture("sentencepiece-legacy/tokenizer.json"))
        let vocabulary = try XCTUnwrap(tokenizer as? SentencePieceTokenizer).vocabulary
        XCTAssertEqual(vocabulary.spacePrefix, .everyStretchUnconditionally)
        XCTAssertTrue(tokenizer.addsBOS)
        XCTAssertEqual(tokenizer.bosID, 1)
        let fixture = try fixture()
        assertMatches(tokenizer, fixture.legacyTokenizerJSON.cases, "legacy tokenizer.json")
        try assertMatches(tokenizer, fixture.legacyTokenizerJSON.corpusDigests, roundTrip: false,
                          "legacy tokenizer.json")
    }

    /// GGUF `tokenizer.ggml.model = llama`: merging by piece score (llama.cpp's SPM), read from
    /// metadata only.
    func testGGUFMatchesTransformersLoadingTheSameFile() throws {
        let file = try GGUFFile(url: TestResources.fixture("sentencepiece-tokenizer.gguf"))
        XCTAssertTrue(file.tensorInfos.isEmpty, "the fixture holds tokenizer metadata only")
        let tokenizer = try TokenizerLoader.tokenizer(
            ggufMetadata: file.metadata, file: file.url.path)
        let vocabulary = try XCTUnwrap(tokenizer as? SentencePieceTokenizer).vocabulary
        guard case .pieceScores = vocabulary.mergePriority else {
            return XCTFail("GGUF merges by piece score")
        }
        XCTAssertEqual(vocabulary.spacePrefix, .firstStretch)
        XCTAssertEqual(vocabulary.unknownID, 0)
        XCTAssertEqual(vocabulary.tokenTypes[3], BPEVocabulary.TokenType.control.rawValue)
        XCTAssertEqual(vocabulary.tokenTypes[4], BPEVocabulary.TokenType.userDefined.rawValue)
        XCTAssertTrue(tokenizer.addsBOS)
        let fixture = try fixture()
        assertMatches(tokenizer, fixture.gguf.cases, "GGUF")
        try assertMatches(tokenizer, fixture.gguf.corpusDigests, roundTrip: false, "GGUF")
        // The two merge orders agree on this model (its piece scores are its merge order).
        let json = try TokenizerLoader.tokenizer(
            tokenizerJSON: TestResources.fixture("sentencepiece/tokenizer.json"))
        for item in fixture.gguf.cases {
            XCTAssertEqual(tokenizer.encode(item.text), json.encode(item.text), item.name)
        }
    }

    /// Where transformers' Metaspace (prepend_scheme "first") and the SentencePiece library
    /// differ, the fixture shows it: the library adds `▁` before a text that starts with a
    /// space and after special tokens. Locus follows transformers; this pins the difference.
    func testDiffersFromTheSentencePieceLibraryOnlyAtPrefixSpaces() throws {
        let fixture = try fixture()
        let differing = zip(fixture.gguf.cases, fixture.sentencepieceLibraryIDs)
            .filter { $0.0.ids != $0.1 }.map(\.0)
        XCTAssertFalse(differing.isEmpty)
        for item in differing {
            let leadingSpace = item.text.hasPrefix(" ") || item.text.hasPrefix("\u{2581}")
            let hasSpecial = ["<s>", "</s>", "<unk>", "<sep>", "<ctrl>"]
                .contains { item.text.contains($0) }
            XCTAssertTrue(leadingSpace || hasSpecial || item.text.allSatisfy(\.isWhitespace),
                          "unexpected difference from sentencepiece on \(item.name)")
        }
    }

    func testEncodeContinuationOmitsTheSpacePrefix() throws {
        let tokenizer = try TokenizerLoader.tokenizer(
            tokenizerJSON: TestResources.fixture("sentencepiece/tokenizer.json"))
        let whole = tokenizer.encode("The history of the city")
        let prompt = tokenizer.encode("The history")
        XCTAssertEqual(prompt + tokenizer.encodeContinuation(" of the city"), whole)
        XCTAssertNotEqual(tokenizer.encode("history"), tokenizer.encodeContinuation("history"))
        XCTAssertEqual(tokenizer.encodePrompt(""), [1])
    }

    /// The real Gemma-3-270M Q4_K_M GGUF (scripts/fetch-model.sh): only its tokenizer metadata is
    /// read, never its tensors.
    func testGemma3TokenizerMatchesTransformers() throws {
        let url = TestResources.packageRoot.appendingPathComponent(
            "models/gemma-3-270m-Q4_K_M.gguf")
        guard FileManager.default.fileExists(atPath: url.path) else {
            return XCTFail("missing \(url.path): run scripts/fetch-model.sh (or "
                + "scripts/fetch-model.sh gemma3)")
        }
        let fixture = try loadFixture(Gemma3Fixture.self, "gemma3_tokenizer_expected.json")
        let file = try GGUFFile(url: url)
        XCTAssertEqual(file.metadata["general.architecture"]?.string, "gemma3")
        let tokenizer = try TokenizerLoader.tokenizer(
            ggufMetadata: file.metadata, file: url.path)
        let vocabulary = try XCTUnwrap(tokenizer as? SentencePieceTokenizer).vocabulary
        XCTAssertEqual(tokenizer.vocabularySize, 262_144)
        XCTAssertEqual(tokenizer.vocabularySize, fixture.vocabularySize)
        XCTAssertEqual(tokenizer.bosID, fixture.bosID)
        XCTAssertEqual(tokenizer.bosID, 2)
        XCTAssertTrue(tokenizer.addsBOS)
        XCTAssertTrue(fixture.addBOS)
        XCTAssertEqual(vocabulary.spacePrefix, .none)
        XCTAssertFalse(vocabulary.stripsLeadingSpaceOnDecode)
        // Whitespace-run tokens are ordinary pieces spelled with ▁, as transformers respells them.
        XCTAssertEqual(vocabulary.tokens[138], "\u{2581}\u{2581}")
        XCTAssertEqual(vocabulary.tokenTypes[138], BPEVocabulary.TokenType.normal.rawValue)
        assertMatches(tokenizer, fixture.cases, "Gemma-3")
        try assertMatches(tokenizer, fixture.corpusDigests, roundTrip: true, "Gemma-3")
        let text = try sharedText("truthfulqa/TruthfulQA.csv")
        let clock = ContinuousClock()
        var count = 0
        let elapsed = clock.measure { count = tokenizer.encode(text).count }
        print("Gemma-3 tokenizer: TruthfulQA.csv \(text.utf8.count) bytes → \(count) ids in "
            + "\(elapsed) (not a pass/fail check)")
    }

    func testLoadingErrorsNameTheProblem() throws {
        let file = try GGUFFile(url: TestResources.fixture("sentencepiece-tokenizer.gguf"))
        var metadata = file.metadata
        metadata["tokenizer.ggml.scores"] = nil
        XCTAssertThrowsError(try SentencePieceVocabulary(ggufMetadata: metadata, file: "x.gguf")) {
            XCTAssertEqual($0 as? TokenizerError,
                           TokenizerError(file: "x.gguf", problem: .missingKey("tokenizer.ggml.scores")))
        }
        metadata = file.metadata
        metadata["tokenizer.ggml.scores"] = .array([.float32(0)])
        XCTAssertThrowsError(try SentencePieceVocabulary(ggufMetadata: metadata, file: "x.gguf")) {
            guard case .malformed? = ($0 as? TokenizerError)?.problem else {
                return XCTFail("\($0)")
            }
        }
        metadata = file.metadata
        metadata["tokenizer.ggml.bos_token_id"] = nil
        XCTAssertThrowsError(try SentencePieceVocabulary(ggufMetadata: metadata, file: "x.gguf")) {
            XCTAssertEqual("\($0)", "x.gguf: malformed tokenizer: BOS is to be added but there "
                + "is no BOS token")
        }

        // tokenizer.json with a normalizer SentencePiece does not implement.
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("locus-sp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = try String(
            contentsOf: TestResources.fixture("sentencepiece-legacy/tokenizer.json"),
            encoding: .utf8)
        let broken = source.replacingOccurrences(of: "\"Prepend\"", with: "\"NFKC\"")
        XCTAssertNotEqual(broken, source)
        let url = folder.appendingPathComponent("tokenizer.json")
        try Data(broken.utf8).write(to: url)
        XCTAssertThrowsError(try TokenizerLoader.tokenizer(tokenizerJSON: url)) {
            guard case .unsupportedFeature(let detail)? = ($0 as? TokenizerError)?.problem else {
                return XCTFail("\($0)")
            }
            XCTAssertTrue(detail.contains("NFKC"), detail)
            XCTAssertEqual(($0 as? TokenizerError)?.file, url.path)
        }
    }
}

/// Whether BOS/EOS are added: tokenizer_config.json's `add_bos_token`/`add_eos_token` override
/// the tokenizer.json TemplateProcessing, as in transformers' `update_post_processor`.
final class SpecialTokenRuleTests: XCTestCase {
    func folder(with tokenizer: String, config: String?) throws -> URL {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("locus-bos-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: TestResources.fixture(tokenizer), to: folder.appendingPathComponent("tokenizer.json"))
        if let config {
            try Data(config.utf8).write(to: folder.appendingPathComponent("tokenizer_config.json"))
        }
        return folder
    }

    func testConfigOverridesTheTemplate() throws {
        let off = try folder(with: "sentencepiece/tokenizer.json",
                             config: #"{"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": false, "add_eos_token": true}"#)
        defer { try? FileManager.default.removeItem(at: off) }
        let tokenizer = try TokenizerLoader.tokenizer(
            tokenizerJSON: off.appendingPathComponent("tokenizer.json"))
        XCTAssertFalse(tokenizer.addsBOS)
        XCTAssertTrue(tokenizer.addsEOS)
        XCTAssertEqual(tokenizer.encodePrompt("Hello"), tokenizer.encode("Hello"))

        // Byte-level BPE: no template, the config asks for BOS.
        let on = try folder(with: "tiny_tokenizer.json",
                            config: #"{"bos_token": "<|end|>", "add_bos_token": true}"#)
        defer { try? FileManager.default.removeItem(at: on) }
        let bpe = try TokenizerLoader.tokenizer(tokenizerJSON: on.appendingPathComponent("tokenizer.json"))
        XCTAssertTrue(bpe is BPETokenizer)
        XCTAssertTrue(bpe.addsBOS)
        XCTAssertEqual(bpe.encodePrompt("ab"), [271] + bpe.encode("ab"))
        // Without a config or template: no BOS (GPT-2, SmolLM2).
        XCTAssertFalse(try TokenizerLoader.tokenizer(
            tokenizerJSON: TestResources.fixture("tiny_tokenizer.json")).addsBOS)
    }

    func testATemplateAddingAnotherTokenIsRefused() throws {
        let source = try String(
            contentsOf: TestResources.fixture("sentencepiece/tokenizer.json"), encoding: .utf8)
        // The single template's first entry (the first "SpecialToken" in the file) becomes </s>.
        let found = try XCTUnwrap(source.range(of: "\"SpecialToken\": {\n          \"id\": \"<s>\""))
        var changed = source
        changed.replaceSubrange(found, with: "\"SpecialToken\": {\n          \"id\": \"</s>\"")
        // The config names <s> as BOS but does not say whether to add it: the template decides,
        // and it adds another token.
        let dir = try folder(with: "sentencepiece/tokenizer.json",
                             config: #"{"bos_token": "<s>", "eos_token": "</s>"}"#)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("tokenizer.json")
        try Data(changed.utf8).write(to: url)
        XCTAssertThrowsError(try TokenizerLoader.tokenizer(tokenizerJSON: url)) {
            guard case .unsupportedFeature(let detail)? = ($0 as? TokenizerError)?.problem else {
                return XCTFail("\($0)")
            }
            XCTAssertTrue(detail.contains("</s>"), detail)
        }
    }
}

/// Pieces that differ only in Unicode normalisation (`é` U+00E9 and `e` + U+0301) are distinct
/// pieces: Foundation's JSON reader would merge them (String keys compare canonically), so the
/// vocabulary is read by `JSONObjectScanner` and looked up by scalars.
final class CanonicalEquivalenceTests: XCTestCase {
    func testCanonicallyEquivalentPiecesStayDistinct() throws {
        let json = """
            {"added_tokens": [], "normalizer": null,
             "pre_tokenizer": {"type": "Metaspace", "replacement": "\u{2581}",
                               "prepend_scheme": "first", "split": false},
             "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
                       "merges": ["e \u{301}"],
                       "vocab": {"<unk>": 0, "\u{2581}": 1, "\u{E9}": 2, "e": 3, "\u{301}": 4,
                                 "e\u{301}": 5, "\\u00e8": 6}}}
            """
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("locus-nfc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("tokenizer.json")
        try Data(json.utf8).write(to: url)
        let tokenizer = try XCTUnwrap(
            try TokenizerLoader.tokenizer(tokenizerJSON: url) as? SentencePieceTokenizer)
        XCTAssertEqual(tokenizer.vocabularySize, 7)
        XCTAssertEqual(tokenizer.vocabulary.tokens[2].unicodeScalars.map(\.value), [0xE9])
        XCTAssertEqual(tokenizer.vocabulary.tokens[5].unicodeScalars.map(\.value), [0x65, 0x301])
        XCTAssertEqual(tokenizer.vocabulary.tokens[6], "\u{E8}", "a \\u escape is decoded")
        XCTAssertEqual(tokenizer.encode("\u{E9}"), [1, 2])
        XCTAssertEqual(tokenizer.encode("e\u{301}"), [1, 5])
        XCTAssertEqual(tokenizer.encode("\u{E8}"), [1, 6])
        XCTAssertEqual(tokenizer.id(of: "e\u{301}"), 5)
        XCTAssertEqual(tokenizer.id(of: "\u{E9}"), 2)
    }
}
