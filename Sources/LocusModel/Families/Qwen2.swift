import Foundation
import LocusCheckpoint

/// Qwen2 (and Qwen2.5): llama's block with biases on Q, K and V. Both Hugging Face and GGUF
/// (llama.cpp uses NeoX rotation for qwen2 and does not permute) store Q/K half-split.
enum Qwen2Family: FamilyDefinition {
    static let family = ModelFamily.qwen2
    static let modelTypes: Set<String> = ["qwen2"]
    static let ggufArchitectures: Set<String> = ["qwen2"]

    static var architecture: Architecture {
        var a = Architecture(family: .qwen2)
        a.queryKeyValueBias = true
        return a
    }

    static func config(huggingFace f: ConfigFields, tensors: TensorSource) throws -> ModelConfig {
        if let act = try f.string("hidden_act"), act != "silu" {
            throw f.fail("hidden_act '\(act)' is not supported (silu)")
        }
        if try f.bool("use_sliding_window", default: false) {
            throw f.fail("use_sliding_window true is not supported (full attention only)")
        }
        let heads = try f.int("num_attention_heads")
        var config = ModelConfig(
            vocabularySize: try f.int("vocab_size"), hiddenSize: try f.int("hidden_size"),
            intermediateSize: try f.int("intermediate_size"),
            layerCount: try f.int("num_hidden_layers"), headCount: heads,
            keyValueHeadCount: try f.optionalInt("num_key_value_heads") ?? heads,
            ropeBase: try f.ropeBase(default: 10_000),
            rmsNormEpsilon: try f.float("rms_norm_eps", default: 1e-6),
            contextLength: try f.optionalInt("max_position_embeddings") ?? 32_768,
            tiedEmbeddings: try f.bool("tie_word_embeddings", default: false),
            bosTokenID: f.tokenID("bos_token_id"), eosTokenID: f.tokenID("eos_token_id"))
        config.architecture = architecture
        return config
    }

    static func config(gguf g: GGUFFields, tensors: TensorSource) throws -> ModelConfig {
        var config = try LlamaFamily.ggufSizes(g, tensors: tensors, epsilon: 1e-6)
        config.architecture = architecture
        return config
    }

    static func huggingFaceNames(_ config: ModelConfig, tensors: TensorSource) -> TensorNames {
        LlamaFamily.huggingFaceNames(config, tensors: tensors)
    }

    static func ggufNames(_ config: ModelConfig) -> TensorNames? {
        LlamaFamily.ggufNames(rotaryLayout: .halfSplit)
    }
}
