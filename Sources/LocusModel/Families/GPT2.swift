import Foundation
import LocusCheckpoint

/// GPT-2: learned absolute positions, LayerNorm with bias, fused Q/K/V (`c_attn`) with biases,
/// biased output projection, GELU (tanh, `gelu_new`) MLP with biases, tied unembedding.
/// Its Conv1D layers store weights as (in, out); they are transposed at load into (out, in).
/// (transformers `models/gpt2/modeling_gpt2.py`: `Conv1D`, `GPT2Attention`, `GPT2Block`.)
enum GPT2Family: FamilyDefinition {
    static let family = ModelFamily.gpt2
    static let modelTypes: Set<String> = ["gpt2"]

    static func config(huggingFace f: ConfigFields, tensors: TensorSource) throws -> ModelConfig {
        let act = try f.gptActivation()
        if try f.bool("scale_attn_by_inverse_layer_idx", default: false) {
            throw f.fail("scale_attn_by_inverse_layer_idx true is not supported")
        }
        if !(try f.bool("scale_attn_weights", default: true)) {
            throw f.fail("scale_attn_weights false is not supported")
        }
        var config = try f.gptSizes(contextLength: 1024, tiedEmbeddings: true)
        var a = Architecture(family: .gpt2)
        a.norm = .layerNorm
        a.positions = .learned
        a.mlp = .gelu(act)
        a.queryKeyValueBias = true
        a.outputBias = true
        a.mlpBias = true
        config.architecture = a
        return config
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
