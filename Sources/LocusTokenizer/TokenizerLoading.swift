import Foundation
import LocusCheckpoint

/// Builds the right tokenizer for a checkpoint's tokenizer description.
public enum TokenizerLoader {
    /// From GGUF metadata: `tokenizer.ggml.model` `gpt2` → byte-level `BPETokenizer`,
    /// `llama` → `SentencePieceTokenizer`.
    /// - Throws: `TokenizerError` naming `file` (`.unsupportedModel` for any other model).
    public static func tokenizer(
        ggufMetadata metadata: [String: GGUFValue], file: String
    ) throws(TokenizerError) -> any Tokenizer {
        switch metadata["tokenizer.ggml.model"]?.string {
        case "llama"?:
            return SentencePieceTokenizer(
                vocabulary: try SentencePieceVocabulary(ggufMetadata: metadata, file: file))
        default:
            return BPETokenizer(
                vocabulary: try BPEVocabulary(ggufMetadata: metadata, file: file))
        }
    }

    /// From a Hugging Face `tokenizer.json` (and the `tokenizer_config.json` beside it):
    /// SentencePiece-style BPE (byte fallback, `▁` spaces) → `SentencePieceTokenizer`, else
    /// byte-level `BPETokenizer`.
    public static func tokenizer(tokenizerJSON url: URL) throws(TokenizerError) -> any Tokenizer {
        let json = try TokenizerJSON.read(url)
        if json.isSentencePiece {
            return SentencePieceTokenizer(
                vocabulary: try SentencePieceVocabulary(json: json, url: url))
        }
        return BPETokenizer(vocabulary: try BPEVocabulary(json: json, url: url))
    }
}
