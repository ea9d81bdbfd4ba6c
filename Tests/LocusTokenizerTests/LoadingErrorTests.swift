import Foundation
import LocusCheckpoint
import LocusTokenizer
import XCTest

/// Malformed or unsupported input must fail with an error that says what is wrong and where.
final class LoadingErrorTests: XCTestCase {
    /// A valid three-token byte-level vocabulary: "a", "b", "ab" with the merge "a b".
    private func metadata(_ changes: [String: GGUFValue?] = [:]) -> [String: GGUFValue] {
        var metadata: [String: GGUFValue] = [
            "tokenizer.ggml.model": .string("gpt2"),
            "tokenizer.ggml.pre": .string("gpt-2"),
            "tokenizer.ggml.tokens": .array([.string("a"), .string("b"), .string("ab")]),
            "tokenizer.ggml.token_type": .array([.int32(1), .int32(1), .int32(1)]),
            "tokenizer.ggml.merges": .array([.string("a b")]),
        ]
        for (key, value) in changes { metadata[key] = value }
        return metadata
    }

    private func ggufProblem(_ changes: [String: GGUFValue?]) -> TokenizerError.Problem? {
        do {
            _ = try BPEVocabulary(ggufMetadata: metadata(changes), file: "test.gguf")
            XCTFail("expected an error for \(changes)")
            return nil
        } catch {
            XCTAssertEqual(error.file, "test.gguf")
            return error.problem
        }
    }

    func testValidMetadataLoads() throws {
        let tokenizer = BPETokenizer(
            vocabulary: try BPEVocabulary(ggufMetadata: metadata(), file: "test.gguf"))
        XCTAssertEqual(tokenizer.encode("abba"), [2, 1, 0])
        XCTAssertEqual(tokenizer.decode([2, 1, 0]), "abba")
        XCTAssertEqual(tokenizer.encode("c"), [], "bytes without a token and no unknown id drop")
    }

    func testGGUFErrors() {
        XCTAssertEqual(ggufProblem(["tokenizer.ggml.model": .string("llama")]),
                       .unsupportedModel("llama"))
        XCTAssertEqual(ggufProblem(["tokenizer.ggml.pre": .string("qwen2")]),
                       .unknownPreTokenizer("qwen2"))
        XCTAssertEqual(ggufProblem(["tokenizer.ggml.pre": nil]), .missingKey("tokenizer.ggml.pre"))
        XCTAssertEqual(ggufProblem(["tokenizer.ggml.merges": nil]),
                       .missingKey("tokenizer.ggml.merges"))
        XCTAssertEqual(ggufProblem(["tokenizer.ggml.tokens": .array([.int32(1)])]),
                       .wrongType(key: "tokenizer.ggml.tokens", expected: "an array of strings"))
        XCTAssertEqual(ggufProblem(["tokenizer.ggml.bos_token_id": .string("1")]),
                       .wrongType(key: "tokenizer.ggml.bos_token_id", expected: "an integer"))
        for bad: [String: GGUFValue?] in [
            ["tokenizer.ggml.token_type": .array([.int32(1)])],
            ["tokenizer.ggml.merges": .array([.string("ab")])],
            ["tokenizer.ggml.merges": .array([.string("a c")])],
            ["tokenizer.ggml.merges": .array([.string("b a")])],
            ["tokenizer.ggml.eos_token_id": .uint32(3)],
        ] {
            guard case .malformed? = ggufProblem(bad) else {
                return XCTFail("\(bad) should be malformed")
            }
        }
    }

    func testUnknownPreTokenizerMessageNamesTheType() {
        let error = TokenizerError(file: "m.gguf", problem: .unknownPreTokenizer("qwen2"))
        XCTAssert(error.description.contains("'qwen2'"), error.description)
        XCTAssert(error.description.contains("smollm"), error.description)
    }

    // MARK: tokenizer.json

    private func jsonProblem(_ text: String) throws -> TokenizerError.Problem? {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("locus-tokenizer-\(UUID().uuidString).json")
        try Data(text.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            _ = try BPEVocabulary(tokenizerJSON: url)
            XCTFail("expected an error for \(text)")
            return nil
        } catch {
            XCTAssertEqual(error.file, url.path)
            return error.problem
        }
    }

    /// A minimal valid tokenizer.json with `replacements` applied to its text.
    private func json(_ replacements: [String: String] = [:]) -> String {
        var text = #"""
            {"added_tokens":[ADDED],"normalizer":NORMALIZER,
             "pre_tokenizer":{"type":"ByteLevel","add_prefix_space":PREFIX,"use_regex":true},
             "model":{"type":"MODEL","vocab":{"a":0,"b":1,"ab":2},"merges":MERGES}}
            """#
        let defaults = ["ADDED": "", "NORMALIZER": "null", "PREFIX": "false", "MODEL": "BPE",
                        "MERGES": #"[["a","b"]]"#]
        for (key, value) in defaults.merging(replacements, uniquingKeysWith: { $1 }) {
            text = text.replacingOccurrences(of: key, with: value)
        }
        return text
    }

    func testTokenizerJSONErrors() throws {
        guard case .cannotRead? = try jsonProblem("{not json") else {
            return XCTFail("invalid JSON")
        }
        XCTAssertEqual(try jsonProblem(json(["MODEL": "Unigram"])), .unsupportedModel("Unigram"))
        XCTAssertEqual(try jsonProblem(json(["NORMALIZER": #"{"type":"NFC"}"#])),
                       .unsupportedFeature("normalizer 'NFC'"))
        XCTAssertEqual(try jsonProblem(json(["PREFIX": "true"])),
                       .unsupportedFeature("pre_tokenizer: ByteLevel add_prefix_space"))
        guard case .malformed? = try jsonProblem(json(["MERGES": #"[["a","b","c"]]"#])) else {
            return XCTFail("three-part merge")
        }
        guard case .malformed? = try jsonProblem(json(["MERGES": #"["a c"]"#])) else {
            return XCTFail("merge of unknown token")
        }
        let stripped = #"{"id":3,"content":"<s>","lstrip":true,"special":true}"#
        guard case .unsupportedFeature? = try jsonProblem(json(["ADDED": stripped])) else {
            return XCTFail("lstrip")
        }
        let metaspace = json().replacingOccurrences(
            of: #""type":"ByteLevel""#, with: #""type":"Metaspace""#)
        guard case .unsupportedFeature(let detail)? = try jsonProblem(metaspace) else {
            return XCTFail("Metaspace")
        }
        XCTAssert(detail.contains("Metaspace"), detail)
    }

    func testMinimalTokenizerJSONLoads() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("locus-tokenizer-\(UUID().uuidString).json")
        try Data(json(["MERGES": #"["a b"]"#]).utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let tokenizer = BPETokenizer(vocabulary: try BPEVocabulary(tokenizerJSON: url))
        XCTAssertEqual(tokenizer.encode("aab"), [0, 2])
    }

    func testGPT2FilesErrors() throws {
        let folder = TestResources.dataDirectory.appendingPathComponent("tokenizers/gpt2")
        XCTAssertThrowsError(try BPEVocabulary(
            vocabJSON: folder.appendingPathComponent("vocab.json"),
            mergesTXT: folder.appendingPathComponent("merges.txt"),
            specialTokens: ["<|not-there|>"])
        ) { error in
            XCTAssertEqual((error as? TokenizerError)?.problem, .missingKey("<|not-there|>"))
        }
        XCTAssertThrowsError(try BPEVocabulary(
            vocabJSON: folder.appendingPathComponent("missing.json"),
            mergesTXT: folder.appendingPathComponent("merges.txt"))
        ) { error in
            guard case .cannotRead? = (error as? TokenizerError)?.problem else {
                return XCTFail("\(error)")
            }
        }
    }
}
