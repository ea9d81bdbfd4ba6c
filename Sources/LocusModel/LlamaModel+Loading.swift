import Foundation
import LocusCheckpoint

extension LlamaModel {
    /// Loads a llama checkpoint: a GGUF file, or a Hugging Face directory (config.json +
    /// safetensors). With `.f32` (the default here, and the parity reference) every tensor is
    /// dequantised to `Float` once, here; with `.stored` a GGUF's matrices stay in their stored
    /// type, as slices of the memory-mapped file.
    public static func load(from url: URL, weights storage: WeightStorage = .f32) throws -> LlamaModel {
        let source = try openCheckpoint(url)
        return try load(from: source, directory: url, weights: storage)
    }

    /// Loads from an opened checkpoint. For safetensors, `directory` holds `config.json`.
    public static func load(
        from source: TensorSource, directory: URL, weights storage: WeightStorage = .f32
    ) throws -> LlamaModel {
        let config: LlamaConfig
        let naming: WeightNaming
        if let gguf = source as? GGUFFile {
            config = try LlamaConfig(ggufMetadata: gguf.metadata, tensors: gguf)
            naming = .gguf
        } else {
            config = try readHuggingFaceConfig(directory: directory, tensors: source)
            naming = .huggingFace
        }
        try config.validate(file: source.url.path)
        let weights = try LlamaWeights.load(
            from: source, naming: naming, config: config, storage: storage)
        return LlamaModel(config: config, weights: weights)
    }

    static func readHuggingFaceConfig(directory: URL, tensors: TensorSource) throws -> LlamaConfig {
        let folder = directory.hasDirectoryPath ? directory : directory.deletingLastPathComponent()
        let file = folder.appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: file) else {
            throw CheckpointError(file: file.path, problem: .cannotOpen("config.json not found"))
        }
        if let raw = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let type = raw["model_type"] as? String, type != "llama"
        {
            throw CheckpointError(
                file: file.path, problem: .malformed("model_type '\(type)' is not supported (llama)"))
        }
        var config: LlamaConfig
        do {
            config = try JSONDecoder().decode(LlamaConfig.self, from: data)
        } catch {
            throw CheckpointError(file: file.path, problem: .malformed("config.json: \(error)"))
        }
        // A checkpoint without lm_head.weight is tied whatever the config says.
        if !tensors.contains(WeightNaming.huggingFace.unembedding) { config.tiedEmbeddings = true }
        return config
    }
}
