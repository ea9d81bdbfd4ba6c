import Foundation
import LocusCheckpoint
import LocusModel
import LocusTestSupport
import XCTest

/// config.json values are checked against each other and against the tensors, a bad file is
/// named with the field that is wrong, and non-finite weights or logits are errors, not
/// `"logit": null`.
final class ConfigValidationTests: XCTestCase {
    /// A copy of `source`'s weights and config.json whose config has `changes` applied (nil
    /// removes).
    func configCopy(of source: URL, _ name: String, changes: [String: Any?]) throws -> URL {
        let dir = try TestEnvironment.temporaryDirectory("config-\(name)")
        for file in ["model.safetensors", "config.json"] {
            try FileManager.default.copyItem(
                at: source.appendingPathComponent(file), to: dir.appendingPathComponent(file))
        }
        if !changes.isEmpty {
            let url = dir.appendingPathComponent("config.json")
            var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
            for (key, value) in changes { json[key] = value }
            try JSONSerialization.data(withJSONObject: json).write(to: url)
        }
        return dir
    }

    /// A copy of the tiny llama directory whose config.json has `changes` applied (nil removes).
    func tinyCopy(_ name: String, changes: [String: Any?] = [:]) throws -> URL {
        try configCopy(of: TestEnvironment.tinyLlamaURL, name, changes: changes)
    }

    /// A copy of one family fixture (`Fixtures/families/<family>`) with `changes` applied.
    func familyCopy(_ family: String, changes: [String: Any?]) throws -> URL {
        let source = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("families/\(family)")
        return try configCopy(of: source, family, changes: changes)
    }

    /// Loading fails with an error naming config.json and containing every fragment.
    func assertConfigError(
        _ name: String, _ changes: [String: Any?], _ fragments: [String], line: UInt = #line
    ) throws {
        let dir = try tinyCopy(name, changes: changes)
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try DecoderModel.load(from: dir), name, line: line) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("config.json"), "\(name): \(text)", line: line)
            for fragment in fragments {
                XCTAssertTrue(text.contains(fragment), "\(name): '\(fragment)' not in: \(text)", line: line)
            }
            XCTAssertFalse(text.contains("Error Domain"), "raw Cocoa error: \(text)", line: line)
        }
    }

    func testTheUnchangedCopyLoads() throws {
        let dir = try tinyCopy("unchanged")
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertEqual(try DecoderModel.load(from: dir).config.layerCount, 2)
    }

    func testLayerCountMustMatchTheCheckpoint() throws {
        try assertConfigError("fewer-layers", ["num_hidden_layers": 1], ["num_hidden_layers is 1", "layers: 2"])
        try assertConfigError("more-layers", ["num_hidden_layers": 3], ["num_hidden_layers is 3", "layers: 2"])
        // Found by the fuzz harness (config-json:337 of a 50 000-case run): the check itself used
        // to build 0..<L and tried to allocate 35 GB.
        try assertConfigError(
            "absurd-layers", ["num_hidden_layers": 2_147_483_648], ["num_hidden_layers is 2147483648"])
    }

    func testOutOfRangeValues() throws {
        try assertConfigError("rope0", ["rope_theta": 0], ["rope_theta"])
        try assertConfigError("rope-neg", ["rope_theta": -10000], ["rope_theta"])
        try assertConfigError("context0", ["max_position_embeddings": 0], ["max_position_embeddings"])
        try assertConfigError("context-neg", ["max_position_embeddings": -5], ["max_position_embeddings"])
        try assertConfigError("eps-neg", ["rms_norm_eps": -1e-5], ["rms_norm_eps"])
        try assertConfigError("eps0", ["rms_norm_eps": 0], ["rms_norm_eps"])
        try assertConfigError("heads", ["num_attention_heads": 3], ["num_attention_heads 3"])
        try assertConfigError("kv", ["num_key_value_heads": 3], ["num_key_value_heads 3"])
        try assertConfigError("kv0", ["num_key_value_heads": 0], ["num_key_value_heads must be positive"])
        try assertConfigError("model-type", ["model_type": "bert"], ["model_type 'bert'", "gpt2", "gemma3_text"])
        try assertConfigError("act", ["hidden_act": "gelu"], ["hidden_act 'gelu'"])
        try assertConfigError("bias", ["attention_bias": true], ["attention_bias"])
        try assertConfigError("scaling", ["rope_scaling": ["type": "linear", "factor": 2.0]], ["rope_scaling"])
        try assertConfigError("eos", ["eos_token_id": 999], ["eos_token_id 999"])
        try assertConfigError("missing", ["hidden_size": nil], ["hidden_size", "missing"])
        try assertConfigError("text", ["hidden_size": "wide"], ["hidden_size"])
        try assertConfigError("huge", ["intermediate_size": 1e30], ["intermediate_size"])
    }

    /// head_dim ≠ C/H is a supported layout now (Gemma-3); one that disagrees with the tensors
    /// is refused naming the tensor and both shapes.
    func testHeadDimensionMustMatchTheTensors() throws {
        let dir = try tinyCopy("head-dim", changes: ["head_dim": 32])
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try DecoderModel.load(from: dir)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("model.layers.0.self_attn.q_proj.weight"), text)
            XCTAssertTrue(text.contains("128") && text.contains("64"), text)
        }
    }

    /// The other families' config.json errors name the field too (and settings Locus does not
    /// implement are refused rather than silently computed differently).
    func testFamilyConfigErrors() throws {
        func check(_ family: String, _ changes: [String: Any?], _ fragments: [String], line: UInt = #line) throws {
            let dir = try familyCopy(family, changes: changes)
            defer { try? FileManager.default.removeItem(at: dir) }
            XCTAssertThrowsError(try DecoderModel.load(from: dir), family, line: line) { error in
                let text = String(describing: error)
                for fragment in ["config.json"] + fragments {
                    XCTAssertTrue(text.contains(fragment), "'\(fragment)' not in: \(text)", line: line)
                }
            }
        }
        try check("gpt2", ["n_embd": nil], ["n_embd", "missing"])
        try check("gpt2", ["activation_function": "relu"], ["activation_function 'relu'"])
        try check("gpt2", ["scale_attn_by_inverse_layer_idx": true], ["scale_attn_by_inverse_layer_idx"])
        try check("gptj", ["rotary_dim": 7], ["rotary width 7"])
        try check("gptj", ["n_layer": 3], ["n_layer is 3"])
        try check("qwen2", ["use_sliding_window": true], ["use_sliding_window"])
        try check("gemma3", ["attn_logit_softcapping": 50.0], ["attn_logit_softcapping"])
        try check("gemma3", ["layer_types": ["full_attention"]], ["layer_types has 1 entries"])
        try check("gemma3", ["rope_parameters": ["full_attention": ["rope_type": "linear", "factor": 8.0]]],
                  ["rope_type 'linear'"])
    }

    /// GPT-2 and GPT-J read the same GPT-style size fields and differ only in the defaults of
    /// `n_positions` (1024 / 2048) and `tie_word_embeddings` (true / false).
    func testGPTStyleSizeDefaults() throws {
        let gptj = try familyCopy(
            "gptj", changes: ["n_positions": nil, "tie_word_embeddings": nil, "layer_norm_epsilon": nil])
        defer { try? FileManager.default.removeItem(at: gptj) }
        let j = try DecoderModel.load(from: gptj).config
        XCTAssertEqual(j.contextLength, 2048)
        XCTAssertFalse(j.tiedEmbeddings)
        XCTAssertEqual(j.rmsNormEpsilon, 1e-5)
        XCTAssertEqual(j.intermediateSize, 128)
        XCTAssertEqual(j.headCount, 4)
        XCTAssertEqual(j.keyValueHeadCount, 4)
        let gpt2 = try familyCopy("gpt2", changes: ["n_positions": nil, "tie_word_embeddings": nil])
        defer { try? FileManager.default.removeItem(at: gpt2) }
        XCTAssertThrowsError(try DecoderModel.load(from: gpt2)) { error in
            // The fixture's position table has 32 rows; the default context is 1024.
            XCTAssertTrue("\(error)".contains("1024"), "\(error)")
        }
    }

    func testInvalidJSONNamesTheFile() throws {
        let dir = try tinyCopy("invalid-json")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("{\"vocab_size\": 256,\n\"hidden_size\": 64,\n".utf8).write(to: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try DecoderModel.load(from: dir)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("config.json") && text.contains("not valid JSON"), text)
            XCTAssertTrue(text.contains("config.json:3: "), "the line is named: \(text)")
            XCTAssertFalse(text.contains("Error Domain"), text)
        }
    }

    func testDirectoryWithoutTokenizerNamesWhatIsMissing() throws {
        let dir = try tinyCopy("no-tokenizer")
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try LanguageModel.load(from: dir)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("tokenizer.json") && text.contains("no such file"), text)
            XCTAssertFalse(text.contains("Error Domain"), text)
        }
    }

    /// A NaN in the final norm weight (or ±∞ anywhere) is refused at load, naming the tensor.
    func testNonFiniteWeightIsRefusedAtLoad() throws {
        for (label, value) in [("nan", Float.nan), ("inf", -Float.infinity)] {
            let dir = try tinyCopy("weights-\(label)")
            defer { try? FileManager.default.removeItem(at: dir) }
            let url = dir.appendingPathComponent("model.safetensors")
            let info = try XCTUnwrap(SafetensorsFile(url: url).tensorInfo(named: "model.norm.weight"))
            var bytes = try Data(contentsOf: url)
            withUnsafeBytes(of: value.bitPattern.littleEndian) {
                bytes.replaceSubrange((info.offset + 12)..<(info.offset + 16), with: $0)
            }
            try bytes.write(to: url)
            XCTAssertThrowsError(try DecoderModel.load(from: dir)) { error in
                let text = String(describing: error)
                XCTAssertTrue(text.contains("'model.norm.weight'") && text.contains("element 3"), text)
            }
        }
    }

    /// Finite weights can still overflow (here the largest finite final norm and unembedding):
    /// the forward pass throws
    /// `nonFiniteLogits` instead of returning logits that print as null.
    func testNonFiniteLogitsAreAnError() throws {
        let model = try TestEnvironment.tinyLlama()
        XCTAssertNoThrow(try model.forward([[1, 2, 3]], logits: .all))
        model.weights.finalNorm.fill(.greatestFiniteMagnitude)
        model.weights.unembedding.fill(.greatestFiniteMagnitude)
        XCTAssertThrowsError(try model.forward([[1, 2, 3], [4, 5]], logits: .last)) { error in
            XCTAssertEqual(error as? ModelError, .nonFiniteLogits(sequence: 0, position: 2))
            XCTAssertTrue(String(describing: error).contains("non-finite logits"))
        }
        XCTAssertNoThrow(try model.forward([[1, 2, 3]], logits: .none))
    }
}
