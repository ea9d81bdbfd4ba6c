import Foundation
import LocusCheckpoint
import LocusTokenizer
import XCTest

/// `SentencePieceMerger` (heap, O(n log n)) against naive twins written from the definitions:
/// repeat "merge the best adjacent pair, leftmost among equals" until none is left, in O(n²).
/// - score mode (llama.cpp `llm_tokenizer_spm`): a pair may merge when its concatenated text is
///   a piece; best = highest score of that piece;
/// - rule mode (Hugging Face BPE): a pair may merge when it is a listed merge; best = lowest rank.
/// Texts are random (seeded) over the fixture model's characters plus characters it lacks.
final class SentencePieceMergerTests: XCTestCase {
    /// A small xorshift generator, seeded, so the texts are the same on every run.
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
    }

    static let alphabet = Array("etaoinshrdlucmfwypvbgk ETAOIN 0123456789.,;'\n\t  é中😀\u{301}")

    func randomTexts(count: Int, seed: UInt64) -> [String] {
        var generator = Generator(state: seed)
        return (0..<count).map { _ in
            let length = 1 + generator.next(40)
            return String((0..<length).map { _ in Self.alphabet[generator.next(Self.alphabet.count)] })
        }
    }

    /// The naive twin: symbols are scalar arrays; `rank` says whether two symbols may merge and
    /// how good that is (smaller is better); the result maps symbols to ids with byte fallback.
    func naiveEncode(
        _ text: String, vocabulary: SentencePieceVocabulary,
        rank: ([UInt32], [UInt32]) -> Int?
    ) -> [Int] {
        var ids: [[UInt32]: Int] = [:]
        for (id, token) in vocabulary.tokens.enumerated() {
            ids[token.unicodeScalars.map(\.value)] = id
        }
        var word = text.unicodeScalars.map { $0 == " " ? 0x2581 : $0.value }
        if word.first != 0x2581 { word.insert(0x2581, at: 0) }  // prepend_scheme "first"
        var symbols = word.map { [$0] }
        while true {
            var best: (index: Int, rank: Int)?
            for index in 0..<max(symbols.count - 1, 0) {
                guard let found = rank(symbols[index], symbols[index + 1]) else { continue }
                if best == nil || found < best!.rank { best = (index, found) }
            }
            guard let best else { break }
            symbols[best.index] += symbols[best.index + 1]
            symbols.remove(at: best.index + 1)
        }
        var out: [Int] = []
        for symbol in symbols {
            if let id = ids[symbol] {
                out.append(id)
                continue
            }
            let character = String(String.UnicodeScalarView(symbol.map { Unicode.Scalar($0)! }))
            for byte in character.utf8 {
                out.append(ids[String(format: "<0x%02X>", byte).unicodeScalars.map(\.value)]!)
            }
        }
        return out
    }

    func testScoreMergingMatchesTheNaiveTwin() throws {
        let file = try GGUFFile(url: TestResources.fixture("sentencepiece-tokenizer.gguf"))
        let tokenizer = try XCTUnwrap(try TokenizerLoader.tokenizer(
            ggufMetadata: file.metadata, file: file.url.path) as? SentencePieceTokenizer)
        let vocabulary = tokenizer.vocabulary
        guard case .pieceScores(let scores) = vocabulary.mergePriority else {
            return XCTFail("expected piece scores")
        }
        var ids: [[UInt32]: Int] = [:]
        for (id, token) in vocabulary.tokens.enumerated() {
            ids[token.unicodeScalars.map(\.value)] = id
        }
        // Scores are integers here (−rank), so −score is an exact integer rank.
        let rank = { (left: [UInt32], right: [UInt32]) -> Int? in
            ids[left + right].map { -Int(scores[$0]) }
        }
        for text in randomTexts(count: 400, seed: 0x5EED) {
            XCTAssertEqual(tokenizer.encode(text),
                           naiveEncode(text, vocabulary: vocabulary, rank: rank),
                           text.debugDescription)
        }
    }

    func testRuleMergingMatchesTheNaiveTwin() throws {
        let tokenizer = try XCTUnwrap(try TokenizerLoader.tokenizer(
            tokenizerJSON: TestResources.fixture("sentencepiece/tokenizer.json"))
            as? SentencePieceTokenizer)
        let vocabulary = tokenizer.vocabulary
        guard case .mergeRules(let rules) = vocabulary.mergePriority else {
            return XCTFail("expected merge rules")
        }
        var ranks: [[UInt32]: Int] = [:]
        for (rank, rule) in rules.enumerated() {
            let parts = rule.split(separator: " ").map { $0.unicodeScalars.map(\.value) }
            // A separator scalar keeps ("ab", "c") and ("a", "bc") apart.
            let key = parts[0] + [0xFFFF_FFFF] + parts[1]
            ranks[key] = rank  // a pair listed twice keeps its last rank, as in tokenizers
        }
        let rank = { (left: [UInt32], right: [UInt32]) -> Int? in
            ranks[left + [0xFFFF_FFFF] + right]
        }
        for text in randomTexts(count: 400, seed: 0xB0B) {
            XCTAssertEqual(tokenizer.encode(text),
                           naiveEncode(text, vocabulary: vocabulary, rank: rank),
                           text.debugDescription)
        }
    }
}
