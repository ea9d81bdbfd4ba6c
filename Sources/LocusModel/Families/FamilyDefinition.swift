import Foundation
import LocusCheckpoint
import LocusCore

/// What one family file declares: which checkpoints it claims (config.json `model_type`, GGUF
/// `general.architecture`), how their config decodes into `ModelConfig` (sizes plus the
/// `Architecture` of its block), and how its tensors are named.
///
/// Adding a family is one file conforming to this and one line in `FamilyRegistry.all`
/// (mlx-swift-examples' shape: one file per model and a `model_type` registry).
protocol FamilyDefinition {
    static var family: ModelFamily { get }
    /// config.json `model_type` values this family loads.
    static var modelTypes: Set<String> { get }
    /// GGUF `general.architecture` values this family loads (empty: no GGUF support).
    static var ggufArchitectures: Set<String> { get }
    static func config(huggingFace fields: ConfigFields, tensors: TensorSource) throws -> ModelConfig
    static func config(gguf fields: GGUFFields, tensors: TensorSource) throws -> ModelConfig
    static func huggingFaceNames(_ config: ModelConfig, tensors: TensorSource) -> TensorNames
    /// Tensor names in a GGUF of this family (nil: no GGUF support).
    static func ggufNames(_ config: ModelConfig) -> TensorNames?
}

extension FamilyDefinition {
    static var ggufArchitectures: Set<String> { [] }
    static func config(gguf fields: GGUFFields, tensors: TensorSource) throws -> ModelConfig {
        throw fields.fail("architecture '\(fields.architecture)' has no GGUF loader")
    }
    static func ggufNames(_ config: ModelConfig) -> TensorNames? { nil }
}

/// The families, one line each.
enum FamilyRegistry {
    static let all: [any FamilyDefinition.Type] = [
        LlamaFamily.self,
        Qwen2Family.self,
        Gemma3Family.self,
        GPT2Family.self,
        GPTJFamily.self,
    ]

    static func definition(modelType: String) -> (any FamilyDefinition.Type)? {
        all.first { $0.modelTypes.contains(modelType) }
    }

    static func definition(ggufArchitecture: String) -> (any FamilyDefinition.Type)? {
        all.first { $0.ggufArchitectures.contains(ggufArchitecture) }
    }

    static func definition(_ family: ModelFamily) -> any FamilyDefinition.Type {
        all.first { $0.family == family }!
    }

    static var knownModelTypes: String {
        var names: [String] = []
        for definition in all { names += Array(definition.modelTypes) }
        return names.sorted().joined(separator: ", ")
    }

    static var knownGGUFArchitectures: String {
        var names: [String] = []
        for definition in all { names += Array(definition.ggufArchitectures) }
        return names.sorted().joined(separator: ", ")
    }
}

/// A parsed config.json whose readers name the field (by its config.json name) in every error.
struct ConfigFields {
    /// The whole config.json (an object).
    let raw: JSONValue
    let file: String

    func fail(_ why: String) -> CheckpointError {
        CheckpointError(file: file, problem: .malformed("config: \(why)"))
    }

    /// The value of `key`, nil when absent or `null`.
    func value(_ key: String) -> JSONValue? {
        guard let value = raw[key], !value.isNull else { return nil }
        return value
    }

    func has(_ key: String) -> Bool { value(key) != nil }

    func int(_ key: String) throws -> Int {
        guard let value = try optionalInt(key) else { throw fail("required field '\(key)' is missing") }
        return value
    }

    func optionalInt(_ key: String) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard let exact = Self.wholeNumber(value) else {
            throw fail("\(key) must be a whole number, found \(value)")
        }
        return exact
    }

    /// A JSON number that is whole and below 2⁵³ in magnitude (exact as a `Double`).
    static func wholeNumber(_ value: JSONValue) -> Int? {
        guard let exact = value.int, exact.magnitude < 1 << 53 else { return nil }
        return exact
    }

    func optionalFloat(_ key: String) throws -> Float? {
        guard let value = value(key) else { return nil }
        guard let number = value.number else { throw fail("\(key) must be a number, found \(value)") }
        return Float(number)
    }

    func float(_ key: String, default fallback: Float) throws -> Float {
        try optionalFloat(key) ?? fallback
    }

    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = value(key) else { return fallback }
        guard let flag = value.bool else { throw fail("\(key) must be true or false, found \(value)") }
        return flag
    }

    func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let text = value.string else { throw fail("\(key) must be a string, found \(value)") }
        return text
    }

    /// A list of strings, nil when absent or when any element is not a string.
    func strings(_ key: String) -> [String]? {
        guard let list = value(key)?.array else { return nil }
        let texts = list.compactMap(\.string)
        return texts.count == list.count ? texts : nil
    }

    /// A token id field that may be a number or a list (the first is used).
    func tokenID(_ key: String) -> Int? {
        if let id = try? optionalInt(key) { return id }
        if let first = value(key)?.array?.first?.int { return first }
        return nil
    }

    /// `rope_theta`, from the top level (transformers 4) or `rope_parameters` (transformers 5),
    /// refusing RoPE scaling, which Locus does not implement.
    func ropeBase(_ parameters: JSONValue? = nil, default fallback: Float) throws -> Float {
        let p = parameters ?? value("rope_parameters")
        if let type = p?["rope_type"]?.string, type != "default" {
            throw fail("rope_parameters rope_type '\(type)' is not supported (default RoPE only)")
        }
        if let scaling = value("rope_scaling") {
            guard (scaling["rope_type"] ?? scaling["type"])?.string == "default" else {
                throw fail("rope_scaling \(scaling) is not supported (plain RoPE only)")
            }
        }
        if let theta = p?["rope_theta"]?.number { return Float(theta) }
        return try float("rope_theta", default: fallback)
    }

    /// The sizes of a GPT-style config.json (GPT-2, GPT-J): `n_embd`, `n_head` (as many key/value
    /// heads), `n_layer`, `n_inner` (4·`n_embd` when absent), `layer_norm_epsilon` (1e-5),
    /// `n_positions`, `tie_word_embeddings`, BOS/EOS. The families differ only in the defaults
    /// of the context length (GPT-2 1024, GPT-J 2048) and of tying (GPT-2 tied, GPT-J not);
    /// the RoPE base is 10 000 (used by GPT-J's rotary dimensions only).
    func gptSizes(contextLength: Int, tiedEmbeddings: Bool) throws -> ModelConfig {
        let c = try int("n_embd")
        let heads = try int("n_head")
        return ModelConfig(
            vocabularySize: try int("vocab_size"), hiddenSize: c,
            intermediateSize: try optionalInt("n_inner") ?? 4 * c,
            layerCount: try int("n_layer"), headCount: heads, keyValueHeadCount: heads,
            ropeBase: 10_000, rmsNormEpsilon: try float("layer_norm_epsilon", default: 1e-5),
            contextLength: try optionalInt("n_positions") ?? contextLength,
            tiedEmbeddings: try bool("tie_word_embeddings", default: tiedEmbeddings),
            bosTokenID: tokenID("bos_token_id"), eosTokenID: tokenID("eos_token_id"))
    }

    /// A GPT-style `activation_function`, refused naming its value unless it is a GELU.
    func gptActivation() throws -> Architecture.GELUApproximation {
        guard let act = try activation("activation_function") else {
            throw fail(
                "activation_function '\(raw["activation_function"]?.string ?? "?")' is not supported"
                    + " (gelu, gelu_new)")
        }
        return act
    }

    func activation(_ key: String) throws -> Architecture.GELUApproximation? {
        switch try string(key) {
        case "gelu", "gelu_python": .exact
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_tanh": .tanh
        default: nil
        }
    }
}

/// GGUF metadata under `{architecture}.` with errors naming the key.
struct GGUFFields {
    let metadata: [String: GGUFValue]
    let architecture: String
    let file: String

    func fail(_ why: String) -> CheckpointError {
        CheckpointError(file: file, problem: .malformed(why))
    }

    func int(_ key: String) throws -> Int {
        guard let v = metadata["\(architecture).\(key)"]?.int else {
            throw fail("missing metadata \(architecture).\(key)")
        }
        return v
    }

    func optionalInt(_ key: String) -> Int? { metadata["\(architecture).\(key)"]?.int }
    func optionalFloat(_ key: String) -> Float? {
        metadata["\(architecture).\(key)"]?.double.map { Float($0) }
    }
    var bos: Int? { metadata["tokenizer.ggml.bos_token_id"]?.int }
    var eos: Int? { metadata["tokenizer.ggml.eos_token_id"]?.int }

    func vocabularySize(tensors: TensorSource) -> Int {
        optionalInt("vocab_size") ?? metadata["tokenizer.ggml.tokens"]?.array?.count
            ?? tensors.shape(of: "token_embd.weight")?.first ?? 0
    }
}

