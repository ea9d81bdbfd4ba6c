/// What every tokenizer in Locus offers the layers above it.
///
/// Ids are `Int` everywhere above the checkpoint layer. `encode` does **not** add a BOS token
/// (SmolLM2's reference tokenizer adds none); special tokens written literally in the text (for
/// example `<|im_start|>`) become their ids, as the reference tokenizer does.
public protocol Tokenizer: Sendable {
    var vocabularySize: Int { get }
    var bosID: Int? { get }
    var eosID: Int? { get }
    func encode(_ text: String) -> [Int]
    /// Inverse of `encode`: the UTF-8 text of the ids (invalid UTF-8 sequences replaced by U+FFFD).
    func decode(_ ids: [Int]) -> String
    /// The vocabulary entry of one id as stored (byte-level form, e.g. "Ġthe"), for display.
    func tokenString(_ id: Int) -> String
}
