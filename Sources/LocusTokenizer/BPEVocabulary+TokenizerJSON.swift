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
    /// BOS, EOS and padding tokens are not part of tokenizer.json: they are taken from a
    /// `tokenizer_config.json` beside it (`bos_token`, `eos_token`, `pad_token`) when present.
    /// - Throws: `TokenizerError`: `.cannotRead` (I/O or JSON), `.unsupportedModel`,
    ///   `.unsupportedFeature` naming what is not implemented, or `.malformed`.
    init(tokenizerJSON url: URL) throws(TokenizerError) {
        let source = url.path
        func fail(_ problem: TokenizerError.Problem) -> TokenizerError {
            TokenizerError(file: source, problem: problem)
        }
        let json = try TokenizerJSON.decodeChecked(url)
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
        if model.byteFallback == true { throw fail(.unsupportedFeature("byte_fallback")) }
        if let dropout = model.dropout, dropout > 0 {
            throw fail(.unsupportedFeature("BPE dropout \(dropout)"))
        }
        guard let preTokenizerConfig = json.preTokenizer else {
            throw fail(.unsupportedFeature("no pre_tokenizer (byte-level BPE needs ByteLevel)"))
        }
        let preTokenizer = try PreTokenizerKind(tokenizerJSON: preTokenizerConfig, source: source)

        // Added tokens may extend the vocabulary past the model's ids.
        var idsByToken = model.vocab
        let addedTokens = json.addedTokens ?? []
        for added in addedTokens {
            if added.singleWord == true || added.leftStrip == true || added.rightStrip == true {
                throw fail(.unsupportedFeature(
                    "added token '\(added.content)' with single_word, lstrip or rstrip"))
            }
        }
        let count = max(model.vocab.values.max() ?? -1, addedTokens.map(\.id).max() ?? -1) + 1
        var tokens = [String?](repeating: nil, count: max(count, 0))
        for (token, id) in model.vocab {
            guard id >= 0, tokens[id] == nil else {
                throw fail(.malformed("vocabulary id \(id) ('\(token)') is negative or repeated"))
            }
            tokens[id] = token
        }
        var types = [Int](repeating: TokenType.normal.rawValue, count: tokens.count)
        for added in addedTokens {
            guard added.id >= 0 else { throw fail(.malformed("added token id \(added.id)")) }
            tokens[added.id] = added.content
            idsByToken[added.content] = added.id
            types[added.id] = (added.special ?? false)
                ? TokenType.control.rawValue : TokenType.userDefined.rawValue
        }
        // Ids no entry claims are kept as unused placeholders, never produced by encode.
        for id in tokens.indices where tokens[id] == nil { types[id] = TokenType.unused.rawValue }

        let merges: [String]
        switch model.merges {
        case .strings(let strings): merges = strings
        case .pairs(let pairs):
            merges = try pairs.enumerated().map { (rank, pair) throws(TokenizerError) in
                guard pair.count == 2, !pair[0].contains(" "), !pair[1].contains(" ") else {
                    throw fail(.malformed(
                        "merge \(rank) \(pair) is not a pair of space-free tokens"))
                }
                return pair[0] + " " + pair[1]
            }
        }
        let config = Self.readTokenizerConfig(besides: url)
        func id(of name: String?, _ role: String) throws(TokenizerError) -> Int? {
            guard let name else { return nil }
            guard let id = idsByToken[name] else {
                throw fail(.malformed("\(role) token '\(name)' is not in the vocabulary"))
            }
            return id
        }
        try self.init(
            tokens: tokens.map { $0 ?? "" }, tokenTypes: types, merges: merges,
            preTokenizer: preTokenizer, ignoresMerges: model.ignoreMerges ?? false,
            bosID: id(of: config?.bosToken?.content, "bos"),
            eosID: id(of: config?.eosToken?.content, "eos"),
            unknownID: id(of: model.unknownToken, "unknown"),
            paddingID: id(of: config?.padToken?.content, "padding"),
            source: source)
    }

    /// The `tokenizer_config.json` in the same folder, if there is a readable one.
    private static func readTokenizerConfig(besides url: URL) -> TokenizerConfigJSON? {
        let configURL = url.deletingLastPathComponent().appendingPathComponent(
            "tokenizer_config.json")
        guard let data = try? Data(contentsOf: configURL) else { return nil }
        return try? JSONDecoder().decode(TokenizerConfigJSON.self, from: data)
    }
}
