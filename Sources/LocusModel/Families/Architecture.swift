import Foundation
import LocusTensor

/// What a decoder block computes, beyond the sizes in `ModelConfig`: the small vocabulary every
/// family file describes its block with. One model class and one block function read it, so a
/// llama runs exactly the code it ran before the seam (every flag at its llama value).
///
/// Norm weights are stored as the multiplier the norm applies: Gemma's `(1 + w)` is added at
/// load (`TensorNames.normOffset`), so the block sees a plain RMSNorm.
public struct Architecture: Sendable, Equatable {
    public enum Norm: Sendable, Equatable {
        /// y = w ⊙ x / rms(x)
        case rms
        /// y = w ⊙ (x − mean) / std + b
        case layerNorm
    }

    public enum Positions: Sendable, Equatable {
        /// RoPE on Q and K (in the adjacent-pair layout, see `RoPETable`).
        case rotary
        /// A learned (context, C) table added to the token embeddings (GPT-2).
        case learned
    }

    /// exact: 0.5·x·(1 + erf(x/√2)); tanh: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    /// (`gelu_new`, `gelu_pytorch_tanh`).
    public typealias GELUApproximation = GELU.Approximation

    public enum MLP: Sendable, Equatable {
        /// down(silu(gate(x)) ⊙ up(x))
        case swiGLU
        /// down(gelu(up(x) + b_up)) + b_down (GPT-2's c_fc/c_proj, GPT-J's fc_in/fc_out)
        case gelu(GELUApproximation)
        /// down(gelu(gate(x)) ⊙ up(x)) (Gemma)
        case geGLU(GELUApproximation)

        /// Whether the up projection is fused with a gate (2F rows).
        public var isGated: Bool {
            if case .gelu = self { return false }
            return true
        }
    }

    public var family: ModelFamily
    public var norm: Norm = .rms
    public var positions: Positions = .rotary
    /// Dimensions of each head that RoPE rotates (the first ones); nil = the whole head.
    public var rotaryWidth: Int? = nil
    public var mlp: MLP = .swiGLU
    /// GPT-J: attention and MLP both read the block input's one norm; x + attn + mlp.
    public var parallel = false
    /// Q, K, V projections have biases (Qwen2, GPT-2).
    public var queryKeyValueBias = false
    /// The attention output projection has a bias (GPT-2).
    public var outputBias = false
    /// The MLP's up (and gate) and down projections have biases (GPT-2, GPT-J).
    public var mlpBias = false
    /// Per-head RMSNorm of Q and K before RoPE (Gemma-3).
    public var queryKeyNorm = false
    /// Gemma's sandwich: RMSNorm of the attention and MLP outputs before they join the residual.
    public var sandwichNorms = false
    /// Token embeddings are multiplied by this (Gemma: √C).
    public var embeddingScale: Float? = nil
    /// The attention score scale α when it is not 1/√D (Gemma: `query_pre_attn_scalar^(-1/2)`).
    public var attentionScale: Float? = nil
    /// logits = cap · tanh(logits / cap) (Gemma's `final_logit_softcapping`).
    public var finalLogitSoftCap: Float? = nil
    /// The unembedding has a bias (GPT-J's lm_head).
    public var unembeddingBias = false
    /// Layers with local (sliding-window) attention (a query sees the last `slidingWindow`
    /// positions), and their RoPE base (Gemma-3).
    public var slidingLayers: Set<Int> = []
    public var localRopeBase: Float? = nil
    public var slidingWindow: Int? = nil

    public init(family: ModelFamily) { self.family = family }

    public static let llama = Architecture(family: .llama)

    /// Whether blocks have a residual stream between attention and MLP (`resid_mid`).
    public var hasResidualMid: Bool { !parallel }
}

/// The model families Locus loads. Each has one file under `Families/` declaring its
/// config.json (and GGUF metadata) decoding and its tensor names; `ModelFamily.registry` holds
/// one line per family.
public enum ModelFamily: String, Sendable, CaseIterable, Codable {
    case llama, qwen2, gemma3, gpt2, gptj

    /// Human-readable name, as `locus inspect` prints it.
    public var displayName: String {
        switch self {
        case .llama: "llama (LLaMA-1/2/3, SmolLM2, TinyLlama)"
        case .qwen2: "Qwen2"
        case .gemma3: "Gemma-3"
        case .gpt2: "GPT-2"
        case .gptj: "GPT-J"
        }
    }
}
