import Foundation
import LocusCheckpoint

/// GPT-J: one LayerNorm per block read by attention and MLP in parallel
/// (x + attn(ln(x)) + mlp(ln(x)), so there is no `resid_mid`), RoPE on the first `rotary_dim`
/// dimensions of each head with GPT-J's interleaved pairs (`rotate_every_two`, already Locus's
/// adjacent-pair layout), no attention biases, GELU (tanh) MLP with biases, untied unembedding
/// with a bias. (transformers `models/gptj/modeling_gptj.py`: `GPTJAttention`, `GPTJBlock`.)
///
/// No GGUF loader, because no GGUF format for GPT-J exists to follow: llama.cpp reserves the
/// name (`gguf-py/gguf/constants.py` `MODEL_ARCH.GPTJ` = "gptj" with a tensor list;
/// `src/llama-arch.cpp`), but its converter has no GPT-J class (`convert_hf_to_gguf.py` at
/// c392e50; `conversion/` at 0c1e570) and `src/llama-model.cpp` neither loads its tensors nor
/// builds its graph (it appears only in `llama_model_rope_type`). GPT-J loads from Hugging Face
/// directories.
enum GPTJFamily: FamilyDefinition {
    static let family = ModelFamily.gptj
    static let modelTypes: Set<String> = ["gptj"]

    static func config(huggingFace f: ConfigFields, tensors: TensorSource) throws -> ModelConfig {
        let act = try f.gptActivation()
        var config = try f.gptSizes(contextLength: 2048, tiedEmbeddings: false)
        var a = Architecture(family: .gptj)
        a.norm = .layerNorm
        a.rotaryWidth = try f.optionalInt("rotary_dim")
        a.mlp = .gelu(act)
        a.parallel = true
        a.mlpBias = true
        a.unembeddingBias = tensors.contains("lm_head.bias")
        config.architecture = a
        return config
    }

    static func huggingFaceNames(_ config: ModelConfig, tensors: TensorSource) -> TensorNames {
        TensorNames(
            embedding: "transformer.wte.weight", finalNorm: "transformer.ln_f.weight",
            finalNormBias: "transformer.ln_f.bias", unembedding: "lm_head.weight",
            unembeddingBias: "lm_head.bias",
            layer: { l, t in
                let name: String? =
                    switch t {
                    case .attentionNorm: "ln_1.weight"
                    case .attentionNormBias: "ln_1.bias"
                    case .query: "attn.q_proj.weight"
                    case .key: "attn.k_proj.weight"
                    case .value: "attn.v_proj.weight"
                    case .output: "attn.out_proj.weight"
                    case .up: "mlp.fc_in.weight"
                    case .upBias: "mlp.fc_in.bias"
                    case .down: "mlp.fc_out.weight"
                    case .downBias: "mlp.fc_out.bias"
                    default: nil
                    }
                return name.map { "transformer.h.\(l).\($0)" }
            }, layerPrefix: "transformer.h.", rotaryLayout: .adjacentPairs)
    }
}
