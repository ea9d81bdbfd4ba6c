import Foundation
import LocusCheckpoint
import LocusCore

/// llama: LLaMA-1/2/3, SmolLM2, TinyLlama. RMSNorm → RoPE → grouped-query attention → SwiGLU, no
/// biases. Hugging Face stores Q/K for rotate-half RoPE; llama.cpp's converter permutes them to
/// adjacent pairs (`convert_hf_to_gguf.py`, `DecoderModel.permute`).
enum LlamaFamily: FamilyDefinition {
    static let family = ModelFamily.llama
    static let modelTypes: Set<String> = ["llama"]
    static let ggufArchitectures: Set<String> = ["llama"]

    static func config(huggingFace f: ConfigFields, tensors: TensorSource) throws -> ModelConfig {
        let fail = { (why: String) in CheckpointError(file: f.file, problem: .malformed(why)) }
        try DecoderModel.checkSupportedFeatures(f.raw, fail: fail)
        try DecoderModel.checkNumberFields(f.raw, fail: fail)
        var config: ModelConfig
        do {
            config = try JSONDecoder().decode(ModelConfig.self, from: Data(f.raw.text.utf8))
        } catch {
            throw fail("config.json: \(DecoderModel.briefDecodingError(error))")
        }
        if !f.has("rope_theta") { config.ropeBase = try f.ropeBase(default: 10_000) }
        if let d = try f.optionalInt("head_dim"), d != config.hiddenSize / max(config.headCount, 1) {
            config.headDimension = d
        }
        return config
    }

    static func config(gguf g: GGUFFields, tensors: TensorSource) throws -> ModelConfig {
        var config = try ggufSizes(g, tensors: tensors, epsilon: 1e-5)
        let heads = config.headCount
        if let d = g.optionalInt("attention.key_length"), d != config.hiddenSize / max(heads, 1) {
            config.headDimension = d
        }
        return config
    }

    static func huggingFaceNames(_ config: ModelConfig, tensors: TensorSource) -> TensorNames {
        TensorNames(
            embedding: "model.embed_tokens.weight", finalNorm: "model.norm.weight",
            unembedding: "lm_head.weight", layer: huggingFaceLayerName,
            layerPrefix: "model.layers.", rotaryLayout: .halfSplit)
    }

    static func ggufNames(_ config: ModelConfig) -> TensorNames? {
        ggufNames(rotaryLayout: .adjacentPairs)
    }

    /// Hugging Face names shared by the llama-like families (llama, Qwen2, Gemma-3).
    @Sendable static func huggingFaceLayerName(_ l: Int, _ t: TensorNames.LayerTensor) -> String? {
        let name: String? =
            switch t {
            case .attentionNorm: "input_layernorm.weight"
            case .query: "self_attn.q_proj.weight"
            case .key: "self_attn.k_proj.weight"
            case .value: "self_attn.v_proj.weight"
            case .queryBias: "self_attn.q_proj.bias"
            case .keyBias: "self_attn.k_proj.bias"
            case .valueBias: "self_attn.v_proj.bias"
            case .output: "self_attn.o_proj.weight"
            case .outputBias: "self_attn.o_proj.bias"
            case .queryNorm: "self_attn.q_norm.weight"
            case .keyNorm: "self_attn.k_norm.weight"
            case .mlpNorm: "post_attention_layernorm.weight"
            case .gate: "mlp.gate_proj.weight"
            case .up: "mlp.up_proj.weight"
            case .down: "mlp.down_proj.weight"
            default: nil
            }
        return name.map { "model.layers.\(l).\($0)" }
    }

    /// llama.cpp's names (`gguf-py/gguf/constants.py`, `TENSOR_NAMES`), shared by llama, qwen2
    /// and gemma3 GGUFs.
    static func ggufNames(rotaryLayout: TensorNames.RotaryLayout) -> TensorNames {
        TensorNames(
            embedding: "token_embd.weight", finalNorm: "output_norm.weight",
            unembedding: "output.weight",
            layer: { l, t in
                let name: String? =
                    switch t {
                    case .attentionNorm: "attn_norm.weight"
                    case .query: "attn_q.weight"
                    case .key: "attn_k.weight"
                    case .value: "attn_v.weight"
                    case .queryBias: "attn_q.bias"
                    case .keyBias: "attn_k.bias"
                    case .valueBias: "attn_v.bias"
                    case .output: "attn_output.weight"
                    case .queryNorm: "attn_q_norm.weight"
                    case .keyNorm: "attn_k_norm.weight"
                    case .postAttentionNorm: "post_attention_norm.weight"
                    case .mlpNorm: "ffn_norm.weight"
                    case .gate: "ffn_gate.weight"
                    case .up: "ffn_up.weight"
                    case .down: "ffn_down.weight"
                    case .postMLPNorm: "post_ffw_norm.weight"
                    default: nil
                    }
                return name.map { "blk.\(l).\($0)" }
            }, layerPrefix: "blk.", rotaryLayout: rotaryLayout)
    }

    /// Sizes from llama-style GGUF keys (`{arch}.embedding_length`, …), shared with qwen2/gemma3.
    static func ggufSizes(_ g: GGUFFields, tensors: TensorSource, epsilon: Float) throws -> ModelConfig {
        let heads = try g.int("attention.head_count")
        return ModelConfig(
            vocabularySize: g.vocabularySize(tensors: tensors),
            hiddenSize: try g.int("embedding_length"),
            intermediateSize: try g.int("feed_forward_length"),
            layerCount: try g.int("block_count"),
            headCount: heads,
            keyValueHeadCount: g.optionalInt("attention.head_count_kv") ?? heads,
            ropeBase: g.optionalFloat("rope.freq_base") ?? 10_000,
            rmsNormEpsilon: g.optionalFloat("attention.layer_norm_rms_epsilon") ?? epsilon,
            contextLength: try g.int("context_length"),
            tiedEmbeddings: !tensors.contains("output.weight"),
            bosTokenID: g.bos, eosTokenID: g.eos)
    }
}
