/// A SentencePiece-style vocabulary (LLaMA-1/2, Gemma), as GGUF `tokenizer.ggml.model = llama`
/// metadata or a Hugging Face `tokenizer.json` (BPE with `byte_fallback` and `▁` spaces)
/// describes it.
///
/// Token strings are SentencePiece pieces: a space is spelled `▁` (U+2581), bytes that no piece
/// covers are the byte tokens `<0x00>`…`<0xFF>`, and special tokens (types unknown, control,
/// user-defined) are the literal text that stands for them in input (`<s>`, `<start_of_turn>`).
///
/// Encoding a text (see `SentencePieceTokenizer`): special tokens written literally are cut out
/// first; each stretch between them has its spaces replaced by `▁`, gets a `▁` prefix as
/// `spacePrefix` says, and is merged from single characters by `mergePriority`; characters
/// with no piece become their UTF-8 byte tokens (byte fallback), or the unknown token.
public struct SentencePieceVocabulary: Sendable {
    public typealias TokenType = BPEVocabulary.TokenType

    /// Which adjacent pair merges first.
    public enum MergePriority: Sendable, Equatable {
        /// llama.cpp's `llm_tokenizer_spm` (src/llama-vocab.cpp): any two adjacent symbols whose
        /// concatenation is a piece may merge; the pair making the piece of highest score merges
        /// first, the leftmost among equal scores. `scores[id]` is piece `id`'s score.
        case pieceScores([Float])
        /// Hugging Face `tokenizers`' BPE: only listed merges `"a b"` apply; the lowest rank
        /// (position in `merges`) merges first, the leftmost among equal ranks.
        case mergeRules([String])
    }

    /// Where a `▁` is put in front of a stretch of text (after spaces became `▁`).
    public enum SpacePrefix: Sendable, Equatable {
        /// Never (Gemma: `add_space_prefix` false; a Metaspace with `prepend_scheme: never`).
        case none
        /// Only before the stretch that starts the text, and only when it does not already start
        /// with `▁` (tokenizers' Metaspace `prepend_scheme: first`, what transformers'
        /// `LlamaTokenizer` builds; a text starting with a special token gets no prefix).
        case firstStretch
        /// Before every stretch that does not already start with `▁` (Metaspace `always`).
        case everyStretch
        /// Before every non-empty stretch, even one starting with `▁` (the `Prepend("▁")`
        /// normalizer of Llama-2's tokenizer.json, like SentencePiece's `add_dummy_prefix`).
        case everyStretchUnconditionally
    }

    /// Token strings; the index is the id.
    public let tokens: [String]
    /// `TokenType` raw values, one per token.
    public let tokenTypes: [Int]
    public let mergePriority: MergePriority
    public let spacePrefix: SpacePrefix
    /// Whether a stretch is cut before every `▁` and each piece merged alone (Metaspace
    /// `split: true`); transformers' Llama and Gemma tokenizers merge a stretch whole.
    public let splitsAtSpaces: Bool
    /// Whether characters with no piece become byte tokens (else the unknown token).
    public let byteFallback: Bool
    /// Whether decode drops one leading space (the `Strip(left: 1)` decoder transformers puts
    /// after a prefix-adding Llama tokenizer).
    public let stripsLeadingSpaceOnDecode: Bool
    public let bosID: Int?
    public let eosID: Int?
    public let unknownID: Int?
    public let paddingID: Int?
    /// Whether the checkpoint asks for BOS before a model input (GGUF
    /// `tokenizer.ggml.add_bos_token`, tokenizer_config.json `add_bos_token`, or a
    /// TemplateProcessing post-processor starting with the BOS token).
    public let addsBOS: Bool
    /// Whether the checkpoint asks for EOS after a model input (same sources).
    public let addsEOS: Bool

    let compiled: CompiledSentencePiece

    /// Checks and indexes a vocabulary.
    /// - Parameters:
    ///   - tokens: the pieces, indexed by id.
    ///   - tokenTypes: one GGUF token type per piece.
    ///   - mergePriority: which adjacent pair merges first (piece scores or merge rules).
    ///   - spacePrefix: where a `▁` is put in front of a stretch of text.
    ///   - splitsAtSpaces: whether text is split at spaces before merging.
    ///   - byteFallback: whether unknown characters become `<0xNN>` byte pieces.
    ///   - stripsLeadingSpaceOnDecode: whether decoding drops the first space.
    ///   - bosID: the begin-of-sequence token, if any.
    ///   - eosID: the end-of-sequence token, if any.
    ///   - unknownID: the unknown token, if any.
    ///   - paddingID: the padding token, if any.
    ///   - addsBOS: whether model inputs start with BOS.
    ///   - addsEOS: whether model inputs end with EOS.
    ///   - source: names the origin (a file path) in errors.
    /// - Throws: `.malformed` when lengths differ, an id is out of range, a merge is not two
    ///   known tokens making a known token, or `addsBOS` is set without a BOS id.
    public init(
        tokens: [String], tokenTypes: [Int], mergePriority: MergePriority,
        spacePrefix: SpacePrefix, splitsAtSpaces: Bool = false, byteFallback: Bool = true,
        stripsLeadingSpaceOnDecode: Bool, bosID: Int? = nil, eosID: Int? = nil,
        unknownID: Int? = nil, paddingID: Int? = nil, addsBOS: Bool = false,
        addsEOS: Bool = false, source: String = "SentencePieceVocabulary"
    ) throws(TokenizerError) {
        func fail(_ detail: String) -> TokenizerError {
            TokenizerError(file: source, problem: .malformed(detail))
        }
        guard !tokens.isEmpty else { throw fail("the vocabulary is empty") }
        guard tokenTypes.count == tokens.count else {
            throw fail("\(tokens.count) tokens but \(tokenTypes.count) token types")
        }
        if case .pieceScores(let scores) = mergePriority, scores.count != tokens.count {
            throw fail("\(tokens.count) tokens but \(scores.count) scores")
        }
        let named = [("bos", bosID), ("eos", eosID), ("unknown", unknownID), ("padding", paddingID)]
        for case let (name, id?) in named where !tokens.indices.contains(id) {
            throw fail("\(name) token id \(id) is outside 0..<\(tokens.count)")
        }
        if addsBOS && bosID == nil { throw fail("BOS is to be added but there is no BOS token") }
        if addsEOS && eosID == nil { throw fail("EOS is to be added but there is no EOS token") }
        self.tokens = tokens
        self.tokenTypes = tokenTypes
        self.mergePriority = mergePriority
        self.spacePrefix = spacePrefix
        self.splitsAtSpaces = splitsAtSpaces
        self.byteFallback = byteFallback
        self.stripsLeadingSpaceOnDecode = stripsLeadingSpaceOnDecode
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.paddingID = paddingID
        self.addsBOS = addsBOS
        self.addsEOS = addsEOS
        do {
            compiled = try CompiledSentencePiece(
                tokens: tokens, tokenTypes: tokenTypes, mergePriority: mergePriority)
        } catch {
            throw fail(error.detail)
        }
    }
}
