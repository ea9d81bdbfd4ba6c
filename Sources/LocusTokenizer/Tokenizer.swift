/// What every tokenizer in Locus offers the layers above it.
///
/// Ids are `Int` everywhere above the checkpoint layer. `encode` does **not** add BOS or EOS;
/// special tokens written literally in the text (for example `<|im_start|>`) become their ids,
/// as the reference tokenizer does. A model input goes through `encodePrompt`, which adds BOS
/// when the checkpoint's tokenizer config says so.
public protocol Tokenizer: Sendable {
    var vocabularySize: Int { get }
    var bosID: Int? { get }
    var eosID: Int? { get }
    /// Whether the checkpoint's tokenizer config asks for BOS before every model input (GGUF
    /// `tokenizer.ggml.add_bos_token`, tokenizer_config.json `add_bos_token`, or a
    /// tokenizer.json TemplateProcessing). SmolLM2 and GPT-2: false; LLaMA-1/2, Gemma: true.
    var addsBOS: Bool { get }
    /// Whether the checkpoint's tokenizer config asks for EOS after every input (rare; Locus
    /// never appends it to a prompt, which the model continues).
    var addsEOS: Bool { get }
    func encode(_ text: String) -> [Int]
    /// The ids of `text` where it continues earlier text of the same input (an answer after its
    /// question, a target after its prompt): as `encode`, except that a SentencePiece tokenizer
    /// does not put its `▁` prefix before it (that prefix marks the start of an input). Equal to
    /// `encode` for byte-level BPE.
    func encodeContinuation(_ text: String) -> [Int]
    /// Inverse of `encode`: the UTF-8 text of the ids (invalid UTF-8 sequences replaced by U+FFFD).
    func decode(_ ids: [Int]) -> String
    /// The vocabulary entry of one id as stored (byte-level form, e.g. "Ġthe"), for display.
    func tokenString(_ id: Int) -> String
}

public extension Tokenizer {
    var addsBOS: Bool { false }
    var addsEOS: Bool { false }
    func encodeContinuation(_ text: String) -> [Int] { encode(text) }

    /// The ids a model reads for `text` when `text` starts its input: BOS first when the
    /// checkpoint says so (`addsBOS`), then `encode(text)`. Every method encodes its model
    /// prompts through this one function; text appended to a prompt (an answer, a target, a
    /// continuation) is encoded with `encode`. transformers' `encode(text)` with its default
    /// `add_special_tokens=True` gives the same ids, minus any EOS.
    func encodePrompt(_ text: String) -> [Int] {
        guard addsBOS, let bosID else { return encode(text) }
        return [bosID] + encode(text)
    }
}
