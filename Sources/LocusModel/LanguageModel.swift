import Foundation
import LocusCheckpoint
import LocusTokenizer

/// A model with its tokenizer, loaded from one checkpoint (a GGUF file, or a Hugging Face
/// directory with config.json, safetensors and tokenizer.json).
public final class LanguageModel: @unchecked Sendable {
    public let model: DecoderModel
    public let tokenizer: any Tokenizer
    /// The checkpoint path as given.
    public let url: URL

    public var config: ModelConfig { model.config }

    public init(model: DecoderModel, tokenizer: any Tokenizer, url: URL) {
        self.model = model
        self.tokenizer = tokenizer
        self.url = url
    }

    /// `weights`: `.f32` (default) dequantises every matrix at load; `.stored` keeps a GGUF's
    /// matrices in their stored type (see `WeightStorage`).
    public static func load(from url: URL, weights: WeightStorage = .f32) throws -> LanguageModel {
        let source = try openCheckpoint(url)
        let model = try DecoderModel.load(from: source, directory: url, weights: weights)
        let tokenizer: any Tokenizer
        if let gguf = source as? GGUFFile {
            tokenizer = try TokenizerLoader.tokenizer(
                ggufMetadata: gguf.metadata, file: url.path)
        } else {
            let folder = url.hasDirectoryPath ? url : url.deletingLastPathComponent()
            tokenizer = try TokenizerLoader.tokenizer(
                tokenizerJSON: folder.appendingPathComponent("tokenizer.json"))
        }
        return LanguageModel(model: model, tokenizer: tokenizer, url: url)
    }
}
