/// How a checkpoint names its tensors, and what the loader must do to bring them into Locus's
/// layout: (out, in) matrices, Q/K rows in the adjacent-pair RoPE layout, norm weights as the
/// multiplier they apply.
public struct TensorNames: Sendable {
    /// The per-layer tensors a block may have. Which ones a family has follows from its
    /// `Architecture`; the family's `layer` closure returns nil for the ones it never stores.
    public enum LayerTensor: Sendable, CaseIterable {
        case attentionNorm, attentionNormBias
        case query, key, value, queryBias, keyBias, valueBias
        /// GPT-2's fused c_attn: Q, K, V in one matrix (and one bias).
        case queryKeyValue, queryKeyValueBias
        case output, outputBias
        case queryNorm, keyNorm
        case postAttentionNorm
        case mlpNorm, mlpNormBias
        case gate, up, upBias, down, downBias
        case postMLPNorm
    }

    public enum RotaryLayout: Sendable {
        /// Rotated pairs are adjacent (2i, 2i + 1): GGUF llama, GPT-J's rotate_every_two.
        case adjacentPairs
        /// Rotated pairs are (i, i + R/2) (Hugging Face llama/Qwen2/Gemma, GGUF qwen2/gemma3):
        /// Q/K rows (and their biases and q/k-norm weights) are permuted at load.
        case halfSplit
    }

    var embedding: String
    var positionEmbedding: String? = nil
    var finalNorm: String
    var finalNormBias: String? = nil
    var unembedding: String
    var unembeddingBias: String? = nil
    var layer: @Sendable (Int, LayerTensor) -> String?
    /// The prefix of every layer tensor name before the layer index (`model.layers.`), which
    /// the layer-count check counts.
    var layerPrefix: String
    var rotaryLayout: RotaryLayout
    /// GPT-2's Conv1D stores matrices as (in, out): transposed at load.
    var transposedMatrices = false
    /// Added to every RMSNorm weight at load (Hugging Face Gemma stores w of `(1 + w)`; llama.cpp's
    /// converter already added the 1).
    var normOffset: Float = 0
}
