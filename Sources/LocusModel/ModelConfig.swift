import Foundation
import LocusCheckpoint

/// The shape of a decoder model of any family (sizes here, the block's variant in
/// `architecture`). `CodingKeys` keep the Hugging Face llama `config.json` names, so a llama
/// config decodes directly; other families decode in their file under `Families/`, and GGUF
/// metadata maps onto the same fields.
///
/// (The neutral name is `ModelConfig`; `ModelConfig` stays the type's name until the lead's
/// rename, so other modules need no edit.)
public struct ModelConfig: Codable, Equatable, Sendable {
    public var vocabularySize: Int  // V
    public var hiddenSize: Int  // C
    public var intermediateSize: Int  // F
    public var layerCount: Int  // L
    public var headCount: Int  // H
    public var keyValueHeadCount: Int  // G
    public var ropeBase: Float
    public var rmsNormEpsilon: Float
    public var contextLength: Int
    public var tiedEmbeddings: Bool
    public var bosTokenID: Int?
    public var eosTokenID: Int?
    /// The block's variant (norms, positions, MLP, biases, …); llama's by default.
    public var architecture: Architecture = .llama
    /// `head_dim` when it is not C / H (Gemma-3: 256 with C = 640, H = 4).
    public var headDimension: Int? = nil

    /// D: `head_dim`, else C / H.
    public var headWidth: Int { headDimension ?? hiddenSize / headCount }
    /// The model family.
    public var family: ModelFamily { architecture.family }
    /// Width of the concatenated head outputs z (H·D), the input of o_proj.
    public var attentionWidth: Int { headCount * headWidth }
    /// Width of K or V for one token (G·D).
    public var keyValueWidth: Int { keyValueHeadCount * headWidth }

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size"
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case layerCount = "num_hidden_layers"
        case headCount = "num_attention_heads"
        case keyValueHeadCount = "num_key_value_heads"
        case ropeBase = "rope_theta"
        case rmsNormEpsilon = "rms_norm_eps"
        case contextLength = "max_position_embeddings"
        case tiedEmbeddings = "tie_word_embeddings"
        case bosTokenID = "bos_token_id"
        case eosTokenID = "eos_token_id"
    }

    public init(
        vocabularySize: Int, hiddenSize: Int, intermediateSize: Int, layerCount: Int,
        headCount: Int, keyValueHeadCount: Int, ropeBase: Float, rmsNormEpsilon: Float,
        contextLength: Int, tiedEmbeddings: Bool, bosTokenID: Int? = nil, eosTokenID: Int? = nil
    ) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.keyValueHeadCount = keyValueHeadCount
        self.ropeBase = ropeBase
        self.rmsNormEpsilon = rmsNormEpsilon
        self.contextLength = contextLength
        self.tiedEmbeddings = tiedEmbeddings
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabularySize = try c.decode(Int.self, forKey: .vocabularySize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        layerCount = try c.decode(Int.self, forKey: .layerCount)
        headCount = try c.decode(Int.self, forKey: .headCount)
        keyValueHeadCount =
            try c.decodeIfPresent(Int.self, forKey: .keyValueHeadCount) ?? headCount
        ropeBase = try c.decodeIfPresent(Float.self, forKey: .ropeBase) ?? 10_000
        rmsNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .rmsNormEpsilon) ?? 1e-6
        contextLength = try c.decodeIfPresent(Int.self, forKey: .contextLength) ?? 2048
        tiedEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tiedEmbeddings) ?? false
        bosTokenID = try? c.decodeIfPresent(Int.self, forKey: .bosTokenID)
        eosTokenID = try? c.decodeIfPresent(Int.self, forKey: .eosTokenID)
    }

    /// Checks the invariants the forward pass relies on. Errors name the field by its
    /// config.json name (the GGUF key is `llama.` + the matching llama.cpp name).
    ///
    /// Sizes must be positive, heads must divide the width and KV heads the heads, the head
    /// width must be even (RoPE rotates pairs), `rope_theta` and `rms_norm_eps` must be positive
    /// and finite (a zero or negative ε makes RMSNorm divide by zero or take the root of a
    /// negative number: NaN logits), and `max_position_embeddings` positive. That the sizes
    /// agree with the tensors is checked by `ModelWeights.load`.
    public func validate(file: String) throws {
        func fail(_ why: String) -> CheckpointError {
            CheckpointError(file: file, problem: .malformed("config: \(why)"))
        }
        for (name, value) in [
            ("vocab_size", vocabularySize), ("hidden_size", hiddenSize),
            ("intermediate_size", intermediateSize), ("num_hidden_layers", layerCount),
            ("num_attention_heads", headCount), ("num_key_value_heads", keyValueHeadCount),
            ("max_position_embeddings", contextLength),
        ] where value <= 0 {
            throw fail("\(name) must be positive, found \(value)")
        }
        if let d = headDimension, d <= 0 { throw fail("head_dim must be positive, found \(d)") }
        guard headDimension != nil || hiddenSize % headCount == 0 else {
            throw fail(
                "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(headCount)")
        }
        guard headCount % keyValueHeadCount == 0 else {
            throw fail(
                "num_attention_heads \(headCount) is not a multiple of num_key_value_heads"
                    + " \(keyValueHeadCount)")
        }
        if architecture.positions == .rotary {
            let rotary = architecture.rotaryWidth ?? headWidth
            guard rotary % 2 == 0, rotary > 0, rotary <= headWidth else {
                throw fail(
                    "rotary width \(rotary) must be even, positive and at most the head width"
                        + " \(headWidth)")
            }
        }
        guard ropeBase.isFinite, ropeBase > 0 else {
            throw fail("rope_theta must be positive and finite, found \(ropeBase)")
        }
        guard rmsNormEpsilon.isFinite, rmsNormEpsilon > 0 else {
            throw fail("rms_norm_eps must be positive and finite, found \(rmsNormEpsilon)")
        }
        if let id = bosTokenID, !(0..<vocabularySize).contains(id) {
            throw fail("bos_token_id \(id) is outside the vocabulary (\(vocabularySize) tokens)")
        }
        if let id = eosTokenID, !(0..<vocabularySize).contains(id) {
            throw fail("eos_token_id \(id) is outside the vocabulary (\(vocabularySize) tokens)")
        }
    }
}

extension ModelConfig {
    /// Reads `{arch}.*` GGUF metadata (llama.cpp's key names) through the family that claims
    /// `general.architecture`.
    public init(ggufMetadata m: [String: GGUFValue], tensors: TensorSource) throws {
        let file = tensors.url.path
        let arch = m["general.architecture"]?.string ?? "?"
        guard let definition = FamilyRegistry.definition(ggufArchitecture: arch) else {
            throw CheckpointError(
                file: file,
                problem: .malformed(
                    "architecture '\(arch)' is not supported (\(FamilyRegistry.knownGGUFArchitectures))"))
        }
        self = try definition.config(
            gguf: GGUFFields(metadata: m, architecture: arch, file: file), tensors: tensors)
    }
}
