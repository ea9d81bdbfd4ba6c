/// A byte-level BPE vocabulary, as GGUF `tokenizer.ggml.*` metadata, a Hugging Face
/// `tokenizer.json` or GPT-2's `vocab.json` + `merges.txt` describe it.
///
/// Token strings are in byte-level form (see `ByteLevel`: `"Ġthe"` is the bytes of `" the"`),
/// except special tokens (types unknown, control, user-defined), which are the literal text that
/// stands for them in input (`"<|im_start|>"`). Merge `i` is `"a b"`: the adjacent symbols `a`
/// and `b` may become the token `a + b`, and lower `i` merges first (its rank).
///
/// The initialiser checks everything a tokenizer relies on, so any value of this type can be
/// given to `BPETokenizer` (which cannot fail).
public struct BPEVocabulary: Sendable {
    /// GGUF token types (llama.cpp `llama_token_type`), the values of `tokenTypes`.
    public enum TokenType: Int, Sendable, CaseIterable {
        case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5
        case byte = 6
    }

    /// Token strings; the index is the id.
    public let tokens: [String]
    /// `TokenType` raw values, one per token. Tokens of type unknown, control or user-defined
    /// are special: written literally in a text they become their id, and decode to their text.
    public let tokenTypes: [Int]
    /// Merge rules `"a b"`, highest priority first.
    public let merges: [String]
    public let preTokenizer: PreTokenizerKind
    /// When set, a piece that is itself a token becomes that token without merging (Llama 3's
    /// tokenizer.json `ignore_merges`, llama.cpp's `llama3` pre-type).
    public let ignoresMerges: Bool
    public let bosID: Int?
    public let eosID: Int?
    /// Used for bytes whose single-byte token is missing; such bytes are dropped without it.
    public let unknownID: Int?
    public let paddingID: Int?
    /// Whether the checkpoint asks for BOS before a model input (GGUF
    /// `tokenizer.ggml.add_bos_token`, tokenizer_config.json `add_bos_token`, or a
    /// TemplateProcessing post-processor starting with the BOS token). SmolLM2 and GPT-2: no.
    public let addsBOS: Bool
    /// Whether the checkpoint asks for EOS after a model input (same sources).
    public let addsEOS: Bool

    /// Lookup tables derived from the fields above.
    let compiled: CompiledBPE

    /// Checks and indexes a vocabulary.
    /// - Parameters:
    ///   - tokens: the token strings, indexed by id.
    ///   - tokenTypes: one GGUF token type per token.
    ///   - merges: `"left right"` merge rules, highest priority (lowest rank) first.
    ///   - preTokenizer: how text is split before merging.
    ///   - ignoresMerges: whether a piece that is itself a token skips merging.
    ///   - bosID: the begin-of-sequence token, if any.
    ///   - eosID: the end-of-sequence token, if any.
    ///   - unknownID: the unknown token, if any.
    ///   - paddingID: the padding token, if any.
    ///   - addsBOS: whether model inputs start with BOS.
    ///   - addsEOS: whether model inputs end with EOS.
    ///   - source: names the origin (a file path) in errors.
    /// - Throws: `.malformed` when lengths differ, an id is out of range, a merge is not two
    ///   space-separated tokens, or a merge's parts or result are not in `tokens`.
    public init(
        tokens: [String], tokenTypes: [Int], merges: [String], preTokenizer: PreTokenizerKind,
        ignoresMerges: Bool = false, bosID: Int? = nil, eosID: Int? = nil,
        unknownID: Int? = nil, paddingID: Int? = nil, addsBOS: Bool = false,
        addsEOS: Bool = false, source: String = "BPEVocabulary"
    ) throws(TokenizerError) {
        func fail(_ detail: String) -> TokenizerError {
            TokenizerError(file: source, problem: .malformed(detail))
        }
        guard !tokens.isEmpty else { throw fail("the vocabulary is empty") }
        guard tokenTypes.count == tokens.count else {
            throw fail("\(tokens.count) tokens but \(tokenTypes.count) token types")
        }
        let named = [("bos", bosID), ("eos", eosID), ("unknown", unknownID), ("padding", paddingID)]
        for case let (name, id?) in named where !tokens.indices.contains(id) {
            throw fail("\(name) token id \(id) is outside 0..<\(tokens.count)")
        }
        if addsBOS && bosID == nil { throw fail("BOS is to be added but there is no BOS token") }
        if addsEOS && eosID == nil { throw fail("EOS is to be added but there is no EOS token") }
        self.tokens = tokens
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.preTokenizer = preTokenizer
        self.ignoresMerges = ignoresMerges
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.paddingID = paddingID
        self.addsBOS = addsBOS
        self.addsEOS = addsEOS
        do {
            compiled = try CompiledBPE(tokens: tokens, tokenTypes: tokenTypes, merges: merges)
        } catch {
            throw fail(error.detail)
        }
    }

    /// Whether tokens of this type are matched literally in input text and decoded literally.
    static func isSpecial(type: Int) -> Bool {
        type == TokenType.unknown.rawValue || type == TokenType.control.rawValue
            || type == TokenType.userDefined.rawValue
    }
}
