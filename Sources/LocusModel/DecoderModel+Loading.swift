import Foundation
import LocusCheckpoint
import LocusCore

extension DecoderModel {
    /// Loads a llama checkpoint: a GGUF file, or a Hugging Face directory (config.json +
    /// safetensors). With `.f32` (the default here, and the parity reference) every tensor is
    /// dequantised to `Float` once, here; with `.stored` a GGUF's matrices stay in their stored
    /// type, as slices of the memory-mapped file.
    public static func load(from url: URL, weights storage: WeightStorage = .f32) throws -> DecoderModel {
        let source = try openCheckpoint(url)
        return try load(from: source, directory: url, weights: storage)
    }

    /// Loads from an opened checkpoint of any registered family (`FamilyRegistry`). For
    /// safetensors, `directory` holds `config.json`, whose `model_type` picks the family; a GGUF
    /// names it in `general.architecture`.
    public static func load(
        from source: TensorSource, directory: URL, weights storage: WeightStorage = .f32
    ) throws -> DecoderModel {
        let config: ModelConfig
        let names: TensorNames
        let configFile: String
        let layerField: String
        if let gguf = source as? GGUFFile {
            config = try ModelConfig(ggufMetadata: gguf.metadata, tensors: gguf)
            let arch = gguf.metadata["general.architecture"]?.string ?? "?"
            guard let found = FamilyRegistry.definition(config.family).ggufNames(config) else {
                throw CheckpointError(
                    file: source.url.path, problem: .malformed("architecture '\(arch)' has no GGUF names"))
            }
            names = found
            configFile = source.url.path
            layerField = "\(arch).block_count"
        } else {
            config = try readHuggingFaceConfig(directory: directory, tensors: source)
            names = FamilyRegistry.definition(config.family).huggingFaceNames(config, tensors: source)
            configFile = huggingFaceConfigURL(directory: directory).path
            layerField = config.family == .gpt2 || config.family == .gptj ? "n_layer" : "num_hidden_layers"
        }
        try config.validate(file: configFile)
        try checkLayerCount(
            config, source: source, layerKey: (names.layerPrefix, layerField), configFile: configFile)
        let weights = try ModelWeights.load(
            from: source, names: names, config: config, storage: storage)
        return DecoderModel(config: config, weights: weights)
    }

    /// `config.json` beside (or inside) the checkpoint `directory`.
    static func huggingFaceConfigURL(directory: URL) -> URL {
        let folder =
            directory.hasDirectoryPath || isDirectory(directory)
            ? directory : directory.deletingLastPathComponent()
        return folder.appendingPathComponent("config.json")
    }

    static func readHuggingFaceConfig(directory: URL, tensors: TensorSource) throws -> ModelConfig {
        let file = huggingFaceConfigURL(directory: directory)
        func fail(_ why: String) -> CheckpointError {
            CheckpointError(file: file.path, problem: .malformed(why))
        }
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw CheckpointError(
                file: file.path,
                problem: .cannotOpen(
                    "config.json not found (a Hugging Face checkpoint needs config.json beside its"
                        + " safetensors)"))
        }
        guard let data = try? Data(contentsOf: file) else {
            throw CheckpointError(file: file.path, problem: .cannotOpen("config.json cannot be read"))
        }
        let raw: JSONValue
        do {
            raw = try JSONValue.parse(String(decoding: data, as: UTF8.self), file: file.lastPathComponent)
        } catch {
            throw fail("config.json is not valid JSON (\(error))")
        }
        guard raw.fields != nil else { throw fail("config.json is not a JSON object") }
        let type = raw["model_type"]?.string ?? "llama"
        guard let definition = FamilyRegistry.definition(modelType: type) else {
            throw fail(
                "model_type '\(type)' is not supported (\(FamilyRegistry.knownModelTypes))")
        }
        var config = try definition.config(
            huggingFace: ConfigFields(raw: raw, file: file.path), tensors: tensors)
        // A checkpoint without its unembedding tensor is tied whatever the config says.
        let names = definition.huggingFaceNames(config, tensors: tensors)
        if !tensors.contains(names.unembedding) { config.tiedEmbeddings = true }
        return config
    }
}

extension DecoderModel {
    /// Refuses config.json settings that change the computation in ways Locus does not
    /// implement (the weights would load and give silently different logits).
    static func checkSupportedFeatures(
        _ raw: JSONValue, fail: (String) -> CheckpointError
    ) throws {
        if let act = raw["hidden_act"]?.string, act != "silu" {
            throw fail("config: hidden_act '\(act)' is not supported (silu)")
        }
        for key in ["attention_bias", "mlp_bias"] where raw[key]?.bool == true {
            throw fail("config: \(key) true is not supported (llama layers have no biases here)")
        }
        if let scaling = raw["rope_scaling"], !scaling.isNull {
            throw fail("config: rope_scaling \(scaling) is not supported (plain RoPE only)")
        }
    }

    /// Numeric fields must be JSON numbers (whole ones for sizes), so an out-of-range or
    /// textual value is reported with its name rather than as a decoder message.
    static func checkNumberFields(_ raw: JSONValue, fail: (String) -> CheckpointError) throws {
        let whole = [
            "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
            "num_attention_heads", "num_key_value_heads", "max_position_embeddings",
        ]
        for key in whole {
            guard let value = raw[key] else { continue }
            guard ConfigFields.wholeNumber(value) != nil else {
                throw fail("config: \(key) must be a whole number, found \(value)")
            }
        }
        for key in ["rope_theta", "rms_norm_eps"] {
            guard let value = raw[key] else { continue }
            guard value.number != nil else {
                throw fail("config: \(key) must be a number, found \(value)")
            }
        }
    }

    /// The layers the checkpoint holds tensors for must be exactly 0..<`num_hidden_layers`: a
    /// smaller config would silently drop layers, a larger one fails on a missing tensor.
    static func checkLayerCount(
        _ config: ModelConfig, source: TensorSource, layerKey: (prefix: String, field: String),
        configFile: String
    ) throws {
        let prefix = layerKey.prefix
        var layers = Set<Int>()
        for name in source.tensorNames where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            if let index = Int(rest.prefix { $0.isNumber }) { layers.insert(index) }
        }
        // Compared without building 0..<L: a corrupt L of 2³¹ must not allocate a 2³¹-element set.
        guard layers.count == config.layerCount, layers.min() == 0,
            layers.max() == config.layerCount - 1
        else {
            let key = layerKey.field
            let held = layers.isEmpty ? "none" : "\(layers.count) (\(layers.min()!)...\(layers.max()!))"
            throw CheckpointError(
                file: configFile,
                problem: .malformed(
                    "config: \(key) is \(config.layerCount) but the checkpoint \(source.url.path)"
                        + " holds tensors for layers: \(held)"))
        }
    }

    static func isDirectory(_ url: URL) -> Bool {
        var flag: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &flag) && flag.boolValue
    }

    /// One line for a `DecodingError`: the key path and what was wrong.
    static func briefDecodingError(_ error: any Error) -> String {
        guard let decoding = error as? DecodingError else { return "\(error)" }
        switch decoding {
        case .keyNotFound(let key, _): return "required field '\(key.stringValue)' is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context),
            .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
