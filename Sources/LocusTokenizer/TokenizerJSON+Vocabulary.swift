extension TokenizerJSON {
    /// The dense token list of `model.vocab` plus `added_tokens` (which may extend it), with
    /// types: added special tokens control, other added tokens user-defined (both matched
    /// literally in text), ids no entry claims unused placeholders (`""`), the rest normal.
    ///
    /// - Throws: `.unsupportedFeature` for added tokens with `single_word`, `lstrip`, `rstrip`
    ///   or (`normalizedAddedTokens` false) `normalized: true`; `.malformed` for negative or
    ///   repeated ids.
    func denseVocabulary(
        source: String, allowsNormalizedAddedTokens: Bool
    ) throws(TokenizerError) -> (tokens: [String], types: [Int], ids: [String: Int]) {
        func fail(_ problem: TokenizerError.Problem) -> TokenizerError {
            TokenizerError(file: source, problem: problem)
        }
        var idsByToken = model.vocab
        let added = addedTokens ?? []
        for token in added {
            if token.singleWord == true || token.leftStrip == true || token.rightStrip == true {
                throw fail(.unsupportedFeature(
                    "added token '\(token.content)' with single_word, lstrip or rstrip"))
            }
            if !allowsNormalizedAddedTokens, token.normalized == true {
                throw fail(.unsupportedFeature("added token '\(token.content)' with normalized: "
                    + "true (matched after the ▁ normalisation; only normalized: false is "
                    + "implemented)"))
            }
        }
        // Exact keys where the scanner read them (see `exactVocabulary`).
        let entries = exactVocabulary ?? model.vocab.map { (key: $0.key, value: $0.value) }
        let count = max(entries.map(\.value).max() ?? -1, added.map(\.id).max() ?? -1) + 1
        var tokens = [String?](repeating: nil, count: max(count, 0))
        for (token, id) in entries {
            guard id >= 0, tokens[id] == nil else {
                throw fail(.malformed("vocabulary id \(id) ('\(token)') is negative or repeated"))
            }
            tokens[id] = token
        }
        var types = [Int](repeating: BPEVocabulary.TokenType.normal.rawValue, count: tokens.count)
        for token in added {
            guard token.id >= 0 else { throw fail(.malformed("added token id \(token.id)")) }
            tokens[token.id] = token.content
            idsByToken[token.content] = token.id
            types[token.id] = (token.special ?? false)
                ? BPEVocabulary.TokenType.control.rawValue
                : BPEVocabulary.TokenType.userDefined.rawValue
        }
        for id in tokens.indices where tokens[id] == nil {
            types[id] = BPEVocabulary.TokenType.unused.rawValue
        }
        return (tokens.map { $0 ?? "" }, types, idsByToken)
    }
}
