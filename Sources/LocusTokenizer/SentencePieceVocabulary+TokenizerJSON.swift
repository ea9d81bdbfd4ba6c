import Foundation

public extension SentencePieceVocabulary {
    /// Reads a Hugging Face `tokenizer.json` describing SentencePiece-style BPE (LLaMA-1/2,
    /// Gemma, anything transformers converts from a SentencePiece BPE model).
    ///
    /// Supported: `model.type` `"BPE"` with `vocab`, `merges` (`"a b"` or `[a, b]`),
    /// `byte_fallback`, `unk_token`, `fuse_unk` true; `added_tokens` with `normalized: false`
    /// (special → control, others user-defined; all matched literally in text); spaces turned
    /// into `▁` by exactly one of
    /// - a `Metaspace` pre-tokenizer (`replacement` `▁`, `prepend_scheme` always/first/never
    ///   or the older `add_prefix_space`, `split`), with no normalizer — what transformers'
    ///   `LlamaTokenizer` writes;
    /// - a `Replace(" ", "▁")` normalizer, optionally after `Prepend("▁")` (Llama-2's hub file;
    ///   the prefix then goes before every stretch between special tokens) — with no
    ///   pre-tokenizer, or Gemma's `Split(" ", merged_with_previous)`, which sees no space
    ///   left after the normalizer and so splits nothing;
    /// and a decoder whose `Strip` step (if any) removes one leading space.
    ///
    /// BOS/EOS/padding names and whether BOS/EOS are added come from the `tokenizer_config.json`
    /// beside the file and the file's `TemplateProcessing` (`SpecialTokenRule`).
    /// - Throws: `TokenizerError`: `.cannotRead`, `.unsupportedModel`, `.unsupportedFeature`
    ///   naming what is not implemented, or `.malformed`.
    init(tokenizerJSON url: URL) throws(TokenizerError) {
        try self.init(json: TokenizerJSON.read(url), url: url)
    }

    internal init(json: TokenizerJSON, url: URL) throws(TokenizerError) {
        let source = url.path
        func unsupported(_ detail: String) -> TokenizerError {
            TokenizerError(file: source, problem: .unsupportedFeature(detail))
        }
        let model = json.model
        if let type = model.type, type != "BPE" {
            throw TokenizerError(file: source, problem: .unsupportedModel(type))
        }
        if let prefix = model.continuingSubwordPrefix, !prefix.isEmpty {
            throw unsupported("continuing_subword_prefix '\(prefix)'")
        }
        if let suffix = model.endOfWordSuffix, !suffix.isEmpty {
            throw unsupported("end_of_word_suffix '\(suffix)'")
        }
        if let dropout = model.dropout, dropout > 0 { throw unsupported("BPE dropout \(dropout)") }
        if model.fuseUnknown == false { throw unsupported("fuse_unk false") }
        if model.ignoreMerges == true { throw unsupported("ignore_merges with SentencePiece") }

        let spaces = try Self.spaceHandling(json, unsupported: unsupported)
        var strips = false
        func findStrip(_ decoder: TokenizerJSON.DecoderStep) throws(TokenizerError) {
            if decoder.type == "Strip", let start = decoder.start, start > 0 {
                guard start == 1, decoder.content == " " else {
                    throw unsupported("decoder Strip of \(start) × '\(decoder.content ?? "")'")
                }
                strips = true
            }
            for inner in decoder.decoders ?? [] { try findStrip(inner) }
        }
        if let decoder = json.decoder { try findStrip(decoder) }

        let (tokens, types, idsByToken) = try json.denseVocabulary(
            source: source, allowsNormalizedAddedTokens: false)
        // A SentencePiece vocabulary is dense: a gap is a broken file.
        if let gap = types.firstIndex(of: BPEVocabulary.TokenType.unused.rawValue) {
            throw TokenizerError(file: source, problem: .malformed(
                "vocabulary id \(gap) has no piece (neither model.vocab nor added_tokens)"))
        }
        let rule = try SpecialTokenRule(
            json: json, config: TokenizerConfigJSON.besides(url), source: source)
        func id(of name: String?, _ role: String) throws(TokenizerError) -> Int? {
            guard let name else { return nil }
            guard let id = idsByToken[name] else {
                throw TokenizerError(file: source, problem: .malformed(
                    "\(role) token '\(name)' is not in the vocabulary"))
            }
            return id
        }
        try self.init(
            tokens: tokens, tokenTypes: types,
            mergePriority: .mergeRules(json.mergeRules(source: source)),
            spacePrefix: spaces.prefix, splitsAtSpaces: spaces.splits,
            byteFallback: model.byteFallback ?? false, stripsLeadingSpaceOnDecode: strips,
            bosID: id(of: rule.bosName, "bos"), eosID: id(of: rule.eosName, "eos"),
            unknownID: id(of: model.unknownToken, "unknown"),
            paddingID: id(of: rule.paddingName, "padding"),
            addsBOS: rule.addsBOS, addsEOS: rule.addsEOS, source: source)
    }

    /// The `▁` prefix rule and splitting that the normalizer and pre-tokenizer spell.
    private static func spaceHandling(
        _ json: TokenizerJSON, unsupported: (String) -> TokenizerError
    ) throws(TokenizerError) -> (prefix: SpacePrefix, splits: Bool) {
        let metaspace = "\u{2581}"
        var normalizerSteps: [TokenizerJSON.Normalizer] = []
        func flatten(_ node: TokenizerJSON.Normalizer) {
            if node.type == "Sequence" {
                node.normalizers?.forEach(flatten)
            } else {
                normalizerSteps.append(node)
            }
        }
        json.normalizer.map(flatten)
        var prepends = false
        var replaces = false
        for step in normalizerSteps {
            switch step.type {
            case "Prepend" where step.prepend == metaspace && !replaces && !prepends:
                prepends = true
            case "Replace" where step.pattern?.string == " " && step.content == metaspace:
                replaces = true
            default:
                throw unsupported("normalizer step \(step.type) (SentencePiece supports "
                    + "Prepend(\"▁\") then Replace(\" \", \"▁\"))")
            }
        }
        if prepends && !replaces { throw unsupported("normalizer Prepend without Replace") }

        guard let pre = json.preTokenizer else {
            guard replaces else {
                throw unsupported("no Metaspace pre-tokenizer or Replace(\" \", \"▁\") normalizer")
            }
            return (prepends ? .everyStretchUnconditionally : .none, false)
        }
        switch pre.type {
        case "Metaspace":
            guard !replaces else { throw unsupported("both a Replace normalizer and Metaspace") }
            guard pre.replacement == nil || pre.replacement == metaspace else {
                throw unsupported("Metaspace replacement '\(pre.replacement ?? "")'")
            }
            let scheme = pre.prependScheme ?? ((pre.addPrefixSpace ?? true) ? "always" : "never")
            let prefix: SpacePrefix
            switch scheme {
            case "always": prefix = .everyStretch
            case "first": prefix = .firstStretch
            case "never": prefix = .none
            default: throw unsupported("Metaspace prepend_scheme '\(scheme)'")
            }
            return (prefix, pre.split ?? true)
        case "Split" where replaces && pre.pattern?.string == " " && pre.invert != true:
            // Runs after the normalizer, which left no space to split at.
            return (prepends ? .everyStretchUnconditionally : .none, false)
        default:
            throw unsupported("pre_tokenizer \(pre.type) with SentencePiece-style BPE")
        }
    }
}
