import Foundation
import LocusCheckpoint
import LocusTokenizer
import XCTest

/// Paths and shared objects for the tokenizer tests.
enum TestResources {
    /// The package root, found from this file's path (Tests/LocusTokenizerTests/Support.swift).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func fixture(_ name: String) -> URL { fixtures.appendingPathComponent(name) }

    /// `$LOCUS_MODEL`, else `models/SmolLM2-135M-Instruct.Q4_1.gguf` under the package root.
    static var modelURL: URL {
        if let path = ProcessInfo.processInfo.environment["LOCUS_MODEL"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf")
    }

    /// The faithful SmolLM2 tokenizer.json that the fixture script writes (ignored by git).
    static var smolLMTokenizerJSONURL: URL {
        packageRoot.appendingPathComponent("models/smollm2-tokenizer.json")
    }

    /// Shared data (`$LOCUS_DATA`, else `../shared/data` beside the package).
    static var dataDirectory: URL {
        if let path = ProcessInfo.processInfo.environment["LOCUS_DATA"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
    }

    /// The SmolLM2 GGUF's tokenizer, loaded once per test run.
    static let smolLM: Result<BPETokenizer, any Error> = Result {
        let url = modelURL
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw MissingResource(message: "missing \(url.path): run scripts/fetch-model.sh "
                + "(or set LOCUS_MODEL to the SmolLM2-135M-Instruct Q4_1 GGUF)")
        }
        return BPETokenizer(vocabulary: try BPEVocabulary(gguf: GGUFFile(url: url)))
    }

    static let gpt2: Result<BPETokenizer, any Error> = Result {
        let folder = dataDirectory.appendingPathComponent("tokenizers/gpt2")
        let vocab = folder.appendingPathComponent("vocab.json")
        guard FileManager.default.fileExists(atPath: vocab.path) else {
            throw MissingResource(message: "missing \(vocab.path): set LOCUS_DATA to the folder "
                + "holding tokenizers/gpt2/{vocab.json,merges.txt}")
        }
        return BPETokenizer(vocabulary: try BPEVocabulary(
            vocabJSON: vocab, mergesTXT: folder.appendingPathComponent("merges.txt")))
    }
}

struct MissingResource: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// One reference tokenisation: `text` → `ids`, and `decode(ids)` → `decoded`.
struct EncodingCase: Decodable {
    let name: String
    let text: String
    let ids: [Int]
    let decoded: String
    /// SmolLM2 only: transformers' GGUF-converter ids, where they differ from `ids`.
    let converterIDs: [Int]?

    enum CodingKeys: String, CodingKey {
        case name, text, ids, decoded
        case converterIDs = "converter_ids"
    }
}

struct SmolLMFixture: Decodable {
    struct Reference: Decodable {
        let converterPreTokenizer: String
        let referencePreTokenizer: String
        let converterReproducesSmolLM: Bool

        enum CodingKeys: String, CodingKey {
            case converterPreTokenizer = "converter_pre_tokenizer"
            case referencePreTokenizer = "reference_pre_tokenizer"
            case converterReproducesSmolLM = "converter_reproduces_smollm"
        }
    }

    struct Questions: Decodable {
        let texts: [String]
        let ids: [[Int]]
    }

    struct PartialDecode: Decodable {
        let ids: [Int]
        let decoded: String
    }

    let reference: Reference
    let cases: [EncodingCase]
    let truthfulQAQuestions: Questions
    let partialDecodes: [PartialDecode]
    let corpusDigests: [CorpusDigest]

    enum CodingKeys: String, CodingKey {
        case reference, cases
        case corpusDigests = "corpus_digests"
        case truthfulQAQuestions = "truthfulqa_questions"
        case partialDecodes = "partial_decodes"
    }
}

struct CasesFixture: Decodable {
    let cases: [EncodingCase]
    let corpusDigests: [CorpusDigest]?

    enum CodingKeys: String, CodingKey {
        case cases
        case corpusDigests = "corpus_digests"
    }
}

func loadFixture<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
    try JSONDecoder().decode(type, from: Data(contentsOf: TestResources.fixture(name)))
}

/// Scalar-by-scalar equality: `String ==` would accept canonically equivalent texts.
func assertSameScalars(
    _ actual: String, _ expected: String, _ message: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssert(
        actual.unicodeScalars.elementsEqual(expected.unicodeScalars),
        "\(message): got \(actual.debugDescription), expected \(expected.debugDescription)",
        file: file, line: line)
}

/// Checks every case: exact ids, decode equal to the reference's, and the round trip.
func assertMatches(
    _ tokenizer: BPETokenizer, _ cases: [EncodingCase],
    file: StaticString = #filePath, line: UInt = #line
) {
    for item in cases {
        let ids = tokenizer.encode(item.text)
        if ids != item.ids {
            let common = min(ids.count, item.ids.count)
            let firstDifference = (0..<common).first { ids[$0] != item.ids[$0] } ?? common
            XCTFail(
                "\(item.name): ids differ from index \(firstDifference) "
                    + "(\(ids.count) vs \(item.ids.count) ids); got "
                    + "\(ids[firstDifference...].prefix(12)), expected "
                    + "\(item.ids[firstDifference...].prefix(12)) "
                    + "for \(item.text.debugDescription)",
                file: file, line: line)
        }
        assertSameScalars(tokenizer.decode(item.ids), item.decoded, "\(item.name) decode",
                          file: file, line: line)
        assertSameScalars(tokenizer.decode(ids), item.text, "\(item.name) round trip",
                          file: file, line: line)
    }
}

/// A whole shared-data file's reference tokenisation, summarised: id count and FNV-1a digest.
struct CorpusDigest: Decodable {
    let path: String
    let count: Int
    let fnv1a64: String
}

/// FNV-1a over ids, one 64-bit xor-multiply per id (as the fixture script computes it).
func fnv1a64(_ ids: [Int]) -> String {
    var value: UInt64 = 0xCBF2_9CE4_8422_2325
    for id in ids { value = (value ^ UInt64(id)) &* 0x100_0000_01B3 }
    let hex = String(value, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

/// A shared-data file as text exactly as stored (Foundation's `String(contentsOf:)` would drop
/// a byte-order mark).
func sharedText(_ relativePath: String) throws -> String {
    let url = TestResources.dataDirectory.appendingPathComponent(relativePath)
    return String(decoding: try Data(contentsOf: url), as: UTF8.self)
}

/// Encodes each file and compares count and digest with the reference.
func assertMatches(
    _ tokenizer: BPETokenizer, _ digests: [CorpusDigest],
    file: StaticString = #filePath, line: UInt = #line
) throws {
    XCTAssertFalse(digests.isEmpty, file: file, line: line)
    for digest in digests {
        let text = try sharedText(digest.path)
        let ids = tokenizer.encode(text)
        XCTAssertEqual(ids.count, digest.count, digest.path, file: file, line: line)
        XCTAssertEqual(fnv1a64(ids), digest.fnv1a64, digest.path, file: file, line: line)
        XCTAssert(tokenizer.decode(ids).unicodeScalars.elementsEqual(text.unicodeScalars),
                  "\(digest.path) round trip", file: file, line: line)
    }
}
