import Foundation
import LocusCheckpoint

/// Gemma-3 (text): RMSNorm `(1 + w)` everywhere, sandwich norms around attention and MLP,
/// per-head RMSNorm of Q and K before RoPE, GeGLU (tanh GELU), embeddings scaled by √C,
/// attention scaled by `query_pre_attn_scalar^(-1/2)`, five sliding-window layers (RoPE base
/// 10 000) per global one (base `rope_theta`), optional final-logit soft-cap. (transformers
/// `models/gemma3/modeling_gemma3.py`: `Gemma3RMSNorm`, `Gemma3Attention`,
/// `Gemma3DecoderLayer`.)
///
/// GGUF: llama.cpp's converter stores the norm weights with the 1 already added and Q/K
/// half-split (NeoX rotation); the sliding pattern (every 6th layer global, unless
/// `gemma3.attention.sliding_window_pattern` lists it), the local base (10 000) and the query
/// scale (1/√head_dim) are llama.cpp's fixed values for gemma3 (`llama-model.cpp`,
/// `LLM_ARCH_GEMMA3`).
enum Gemma3Family: FamilyDefinition {
    static let family = ModelFamily.gemma3
    static let modelTypes: Set<String> = ["gemma3_text"]
    static let ggufArchitectures: Set<String> = ["gemma3"]

    static func architecture(
        hiddenSize: Int, headWidth: Int, queryScalar: Float, layers: Int, sliding: Set<Int>,
        localBase: Float, window: Int?, softCap: Float?
    ) -> Architecture {
        var a = Architecture(family: .gemma3)
        a.mlp = .geGLU(.tanh)
        a.queryKeyNorm = true
        a.sandwichNorms = true
        a.embeddingScale = Float(hiddenSize).squareRoot()
        a.attentionScale = 1 / queryScalar.squareRoot()
        a.finalLogitSoftCap = softCap
        a.slidingLayers = sliding
        a.localRopeBase = localBase
        a.slidingWindow = window
        return a
    }

    static func config(huggingFace f: ConfigFields, tensors: TensorSource) throws -> ModelConfig {
        if let act = try f.activation("hidden_activation") {
            guard act == .tanh else {
                throw f.fail("hidden_activation exact gelu is not supported (gelu_pytorch_tanh)")
            }
        } else if f.has("hidden_activation") {
            throw f.fail("hidden_activation '\(f.raw["hidden_activation"]?.string ?? "?")' is not supported")
        }
        if f.has("attn_logit_softcapping") {
            throw f.fail("attn_logit_softcapping is not supported (null only)")
        }
        if try f.bool("use_bidirectional_attention", default: false) {
            throw f.fail("use_bidirectional_attention true is not supported")
        }
        let heads = try f.int("num_attention_heads")
        let layers = try f.int("num_hidden_layers")
        let headWidth = try f.optionalInt("head_dim") ?? 256
        var sliding = Set<Int>()
        if let types = f.strings("layer_types") {
            guard types.count == layers else {
                throw f.fail("layer_types has \(types.count) entries for \(layers) layers")
            }
            for (l, type) in types.enumerated() where type == "sliding_attention" { sliding.insert(l) }
        } else {
            let pattern =
                try f.optionalInt("sliding_window_pattern") ?? f.optionalInt("_sliding_window_pattern")
                ?? 6
            for l in 0..<layers where (l + 1) % pattern != 0 { sliding.insert(l) }
        }
        var globalBase: Float, localBase: Float
        if let p = f.value("rope_parameters"), p.fields != nil, p["full_attention"] != nil {
            globalBase = try f.ropeBase(p["full_attention"] ?? .emptyObject, default: 1e6)
            localBase = try f.ropeBase(p["sliding_attention"] ?? .emptyObject, default: 1e4)
        } else {
            globalBase = try f.ropeBase(default: 1_000_000)
            localBase = try f.float("rope_local_base_freq", default: 10_000)
        }
        let window = try f.optionalInt("sliding_window")
        let hidden = try f.int("hidden_size")
        var config = ModelConfig(
            vocabularySize: try f.int("vocab_size"), hiddenSize: hidden,
            intermediateSize: try f.int("intermediate_size"), layerCount: layers, headCount: heads,
            keyValueHeadCount: try f.optionalInt("num_key_value_heads") ?? heads,
            ropeBase: globalBase, rmsNormEpsilon: try f.float("rms_norm_eps", default: 1e-6),
            contextLength: try f.optionalInt("max_position_embeddings") ?? 131_072,
            tiedEmbeddings: try f.bool("tie_word_embeddings", default: true),
            bosTokenID: f.tokenID("bos_token_id"), eosTokenID: f.tokenID("eos_token_id"))
        config.headDimension = headWidth
        config.architecture = architecture(
            hiddenSize: hidden, headWidth: headWidth,
            queryScalar: try f.float("query_pre_attn_scalar", default: 256), layers: layers,
            sliding: sliding, localBase: localBase, window: window,
            softCap: try f.optionalFloat("final_logit_softcapping"))
        return config
    }

    static func config(gguf g: GGUFFields, tensors: TensorSource) throws -> ModelConfig {
        var config = try LlamaFamily.ggufSizes(g, tensors: tensors, epsilon: 1e-6)
        let headWidth = g.optionalInt("attention.key_length") ?? 256
        config.headDimension = headWidth
        let window = g.optionalInt("attention.sliding_window")
        // llama.cpp's gemma3 assumes every 6th layer global; a per-layer
        // `gemma3.attention.sliding_window_pattern` (bools, true = sliding) overrides it.
        var sliding = Set((0..<config.layerCount).filter { ($0 + 1) % 6 != 0 })
        if let pattern = g.metadata["gemma3.attention.sliding_window_pattern"]?.array {
            guard pattern.count == config.layerCount else {
                throw g.fail(
                    "gemma3.attention.sliding_window_pattern has \(pattern.count) entries for"
                        + " \(config.layerCount) layers")
            }
            sliding = Set(pattern.indices.filter { pattern[$0].bool == true })
        }
        config.architecture = architecture(
            hiddenSize: config.hiddenSize, headWidth: headWidth, queryScalar: Float(headWidth),
            layers: config.layerCount, sliding: sliding, localBase: 10_000, window: window,
            softCap: g.optionalFloat("final_logit_softcapping"))
        return config
    }

    static func huggingFaceNames(_ config: ModelConfig, tensors: TensorSource) -> TensorNames {
        var names = LlamaFamily.huggingFaceNames(config, tensors: tensors)
        names.layer = { l, t in
            let name: String? =
                switch t {
                case .postAttentionNorm: "post_attention_layernorm.weight"
                case .mlpNorm: "pre_feedforward_layernorm.weight"
                case .postMLPNorm: "post_feedforward_layernorm.weight"
                default: nil
                }
            return name.map { "model.layers.\(l).\($0)" } ?? LlamaFamily.huggingFaceLayerName(l, t)
        }
        names.normOffset = 1
        return names
    }

    static func ggufNames(_ config: ModelConfig) -> TensorNames? {
        LlamaFamily.ggufNames(rotaryLayout: .halfSplit)
    }
}
