import Foundation
import LocusTokenizer
import XCTest

/// A corrupt token id must not size the id table: ids are bounded by the file's size, and
/// negative ids are named.
final class TokenizerIDBoundTests: XCTestCase {
    private func problem(vocab: String, added: String = "") throws -> TokenizerError.Problem? {
        let text = #"{"added_tokens":["# + added + #"],"normalizer":null,"#
            + #""pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"use_regex":true},"#
            + #""model":{"type":"BPE","vocab":"# + vocab + #","merges":[]}}"#
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("locus-tokenizer-ids-\(UUID().uuidString).json")
        try Data(text.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            _ = try BPEVocabulary(tokenizerJSON: url)
            return nil
        } catch {
            XCTAssertEqual(error.file, url.path)
            return error.problem
        }
    }

    func testHugeAndNegativeIdsAreRefusedBeforeAllocating() throws {
        XCTAssertNil(try problem(vocab: #"{"a":0,"b":1}"#))
        for vocab in [#"{"a":0,"b":1000000000000}"#, #"{"a":0,"b":9223372036854775807}"#] {
            guard case .malformed(let detail)? = try problem(vocab: vocab) else {
                return XCTFail("\(vocab) accepted")
            }
            XCTAssertTrue(detail.contains("larger than the file"), detail)
        }
        guard case .malformed(let detail)? = try problem(vocab: #"{"a":0,"b":-3}"#) else {
            return XCTFail("negative id accepted")
        }
        XCTAssertTrue(detail.contains("negative id -3"), detail)
        let added = #"{"id":5000000000,"content":"<s>","special":true}"#
        guard case .malformed? = try problem(vocab: #"{"a":0}"#, added: added) else {
            return XCTFail("huge added-token id accepted")
        }
    }

    func testMissingFileAndMissingFieldAreOneLine() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-\(UUID().uuidString).json")
        XCTAssertThrowsError(try BPEVocabulary(tokenizerJSON: missing)) { error in
            XCTAssertEqual((error as? TokenizerError)?.problem, .cannotRead("no such file"))
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("locus-tok-\(UUID().uuidString).json")
        try Data(#"{"normalizer":null}"#.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertThrowsError(try BPEVocabulary(tokenizerJSON: url)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("required field 'model' is missing"), text)
            XCTAssertFalse(text.contains("keyNotFound"), text)
        }
    }
}
