import Foundation

public extension BPEVocabulary {
    /// Reads a Hugging Face `tokenizer.json` whose model is byte-level BPE.
    ///
    /// Supported: `model.type` `"BPE"` with `vocab`, `merges` (`"a b"` strings or `[a, b]`
    /// pairs), `ignore_merges` and `unk_token`; `added_tokens` (special ones become type control,
    /// the others user-defined; both are matched literally in text); `normalizer` null; and a
    /// pre-tokenizer that is one of
    /// - `ByteLevel(add_prefix_space: false, use_regex: true)` or
    ///   `Sequence[Split(GPT-2 pattern, Isolated), ByteLevel(use_regex: false)]` → `.gpt2`,
    /// - `Sequence[Digits(individual_digits: true), ByteLevel(use_regex: true)]` (or with the
    ///   GPT-2 `Split`) → `.smolLM`,
    /// - `Sequence[Split(Llama 3 pattern, Isolated), ByteLevel(use_regex: false)]` → `.llama3`.
    ///
    /// BOS, EOS and padding names come from a `tokenizer_config.json` beside it (`bos_token`,
    /// `eos_token`, `pad_token`) when present, else from the file's `TemplateProcessing`
    /// post-processor, which (with the config's `add_bos_token`/`add_eos_token`) also says
    /// whether BOS/EOS are added to a model input (`SpecialTokenRule`).
    /// - Throws: `TokenizerError`: `.cannotRead` (I/O or JSON), `.unsupportedModel`,
    ///   `.unsupportedFeature` naming what is not implemented, or `.malformed`.
    init(tokenizerJSON url: URL) throws(TokenizerError) {
        try self.init(json: TokenizerJSON.read(url), url: url)
    }

    internal init(json: TokenizerJSON, url: URL) throws(TokenizerError) {
        let source = url.path
        func fail(_ problem: TokenizerError.Problem) -> TokenizerError {
            TokenizerError(file: source, problem: problem)
        }
        let model = json.model
        if let type = model.type, type != "BPE" { throw fail(.unsupportedModel(type)) }
        if let normalizer = json.normalizer {
            throw fail(.unsupportedFeature("normalizer '\(normalizer.type)'"))
        }
        if let prefix = model.continuingSubwordPrefix, !prefix.isEmpty {
            throw fail(.unsupportedFeature("continuing_subword_prefix '\(prefix)'"))
        }
        if let suffix = model.endOfWordSuffix, !suffix.isEmpty {
            throw fail(.unsupportedFeature("end_of_word_suffix '\(suffix)'"))
        }
        if model.byteFallback == true {
            throw fail(.unsupportedFeature(
                "byte_fallback (a SentencePiece-style file: load it as SentencePieceVocabulary)"))
        }
        if let dropout = model.dropout, dropout > 0 {
            throw fail(.unsupportedFeature("BPE dropout \(dropout)"))
        }
        guard let preTokenizerConfig = json.preTokenizer else {
            throw fail(.unsupportedFeature("no pre_tokenizer (byte-level BPE needs ByteLevel)"))
        }
        let preTokenizer = try PreTokenizerKind(tokenizerJSON: preTokenizerConfig, source: source)

        let (tokens, types, idsByToken) = try json.denseVocabulary(
            source: source, allowsNormalizedAddedTokens: true)
        let rule = try SpecialTokenRule(
            json: json, config: TokenizerConfigJSON.besides(url), source: source)
        func id(of name: String?, _ role: String) throws(TokenizerError) -> Int? {
            guard let name else { return nil }
            guard let id = idsByToken[name] else {
                throw fail(.malformed("\(role) token '\(name)' is not in the vocabulary"))
            }
            return id
        }
        try self.init(
            tokens: tokens, tokenTypes: types, merges: json.mergeRules(source: source),
            preTokenizer: preTokenizer, ignoresMerges: model.ignoreMerges ?? false,
            bosID: id(of: rule.bosName, "bos"), eosID: id(of: rule.eosName, "eos"),
            unknownID: id(of: model.unknownToken, "unknown"),
            paddingID: id(of: rule.paddingName, "padding"),
            addsBOS: rule.addsBOS, addsEOS: rule.addsEOS, source: source)
    }
}
