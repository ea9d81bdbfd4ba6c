import Foundation
import LocusCheckpoint

/// GPT-2: learned absolute positions, LayerNorm with bias, fused Q/K/V (`c_attn`) with biases,
/// biased output projection, GELU (tanh, `gelu_new`) MLP with biases, tied unembedding.
/// Its Conv1D layers store weights as (in, out); they are transposed at load into (out, in).
/// (transformers `models/gpt2/modeling_gpt2.py`: `Conv1D`, `GPT2Attention`, `GPT2Block`.)
///
/// GGUF (`general.architecture = gpt2`), as llama.cpp's converter writes it
/// (ggerganov/llama.cpp `convert_hf_to_gguf.py` class `GPT2Model`, lines 2338–2371 at c392e50;
/// `conversion/gpt2.py` in later versions): the Conv1D weights are already transposed to
/// (out, in) by the converter, so nothing is transposed here; Q/K/V stay fused in
/// `blk.N.attn_qkv` (weight and bias); learned positions in `position_embd.weight`; every norm
/// has a bias; the head is `output.weight` where the converter duplicated `token_embd` (older
/// versions) and tied otherwise (llama.cpp's `src/models/gpt2.cpp` falls back to
/// `token_embd`). The GGUF carries no activation: llama.cpp's GPT-2 graph uses `ggml_gelu`
/// (tanh), which is `gelu_new`, what every GPT-2 checkpoint uses.
enum GPT2Family: FamilyDefinition {
    static let family = ModelFamily.gpt2
    static let modelTypes: Set<String> = ["gpt2"]
    static let ggufArchitectures: Set<String> = ["gpt2"]

    static func config(huggingFace f: ConfigFields, tensors: TensorSource) throws -> ModelConfig {
        let act = try f.gptActivation()
        if try f.bool("scale_attn_by_inverse_layer_idx", default: false) {
            throw f.fail("scale_attn_by_inverse_layer_idx true is not supported")
        }
        if !(try f.bool("scale_attn_weights", default: true)) {
            throw f.fail("scale_attn_weights false is not supported")
        }
        var config = try f.gptSizes(contextLength: 1024, tiedEmbeddings: true)
        config.architecture = architecture(act)
        return config
    }

    static func architecture(_ act: Architecture.GELUApproximation) -> Architecture {
        var a = Architecture(family: .gpt2)
        a.norm = .layerNorm
        a.positions = .learned
        a.mlp = .gelu(act)
        a.queryKeyValueBias = true
        a.outputBias = true
        a.mlpBias = true
        return a
    }

    /// `gpt2.*` keys (`set_gguf_parameters` of the converter's `GPT2Model`): `block_count`,
    /// `context_length` (the rows of `position_embd`), `embedding_length`,
    /// `feed_forward_length`, `attention.head_count` (as many key/value heads),
    /// `attention.layer_norm_epsilon`.
    static func config(gguf g: GGUFFields, tensors: TensorSource) throws -> ModelConfig {
        let heads = try g.int("attention.head_count")
        var config = ModelConfig(
            vocabularySize: g.vocabularySize(tensors: tensors),
            hiddenSize: try g.int("embedding_length"),
            intermediateSize: try g.int("feed_forward_length"),
            layerCount: try g.int("block_count"), headCount: heads, keyValueHeadCount: heads,
            ropeBase: 10_000,
            rmsNormEpsilon: g.optionalFloat("attention.layer_norm_epsilon") ?? 1e-5,
            contextLength: try g.int("context_length"),
            tiedEmbeddings: !tensors.contains("output.weight"),
            bosTokenID: g.bos, eosTokenID: g.eos)
        config.architecture = architecture(.tanh)
        return config
    }

    /// llama.cpp's GPT-2 tensor names (`gguf-py/gguf/constants.py`, `MODEL_ARCH.GPT2`).
    static func ggufNames(_ config: ModelConfig) -> TensorNames? {
        TensorNames(
            embedding: "token_embd.weight", positionEmbedding: "position_embd.weight",
            finalNorm: "output_norm.weight", finalNormBias: "output_norm.bias",
            unembedding: "output.weight",
            layer: { l, t in
                let name: String? =
                    switch t {
                    case .attentionNorm: "attn_norm.weight"
                    case .attentionNormBias: "attn_norm.bias"
                    case .queryKeyValue: "attn_qkv.weight"
                    case .queryKeyValueBias: "attn_qkv.bias"
                    case .output: "attn_output.weight"
                    case .outputBias: "attn_output.bias"
                    case .mlpNorm: "ffn_norm.weight"
                    case .mlpNormBias: "ffn_norm.bias"
                    case .up: "ffn_up.weight"
                    case .upBias: "ffn_up.bias"
                    case .down: "ffn_down.weight"
                    case .downBias: "ffn_down.bias"
                    default: nil
                    }
                return name.map { "blk.\(l).\($0)" }
            }, layerPrefix: "blk.", rotaryLayout: .adjacentPairs)
    }

    static func huggingFaceNames(_ config: ModelConfig, tensors: TensorSource) -> TensorNames {
        // GPT2LMHeadModel saves `transformer.`-prefixed names; GPT2Model (e.g. the hub's gpt2)
        // saves them bare.
        let p = tensors.contains("transformer.wte.weight") ? "transformer." : ""
        return TensorNames(
            embedding: "\(p)wte.weight", positionEmbedding: "\(p)wpe.weight",
            finalNorm: "\(p)ln_f.weight", finalNormBias: "\(p)ln_f.bias",
            unembedding: "lm_head.weight",
            layer: { l, t in
                let name: String? =
                    switch t {
                    case .attentionNorm: "ln_1.weight"
                    case .attentionNormBias: "ln_1.bias"
                    case .queryKeyValue: "attn.c_attn.weight"
                    case .queryKeyValueBias: "attn.c_attn.bias"
                    case .output: "attn.c_proj.weight"
                    case .outputBias: "attn.c_proj.bias"
                    case .mlpNorm: "ln_2.weight"
                    case .mlpNormBias: "ln_2.bias"
                    case .up: "mlp.c_fc.weight"
                    case .upBias: "mlp.c_fc.bias"
                    case .down: "mlp.c_proj.weight"
                    case .downBias: "mlp.c_proj.bias"
                    default: nil
                    }
                return name.map { "\(p)h.\(l).\($0)" }
            }, layerPrefix: "\(p)h.", rotaryLayout: .adjacentPairs, transposedMatrices: true)
    }
}
