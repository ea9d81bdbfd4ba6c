extension PreTokenizerKind {
    /// The kind a tokenizer.json `pre_tokenizer` describes (see `BPEVocabulary(tokenizerJSON:)`).
    ///
    /// A `Sequence` is flattened into steps. `ByteLevel` must come last (it maps bytes to
    /// printable scalars; splitting after it would see the mapped text) and may itself split
    /// with the GPT-2 pattern (`use_regex`). The splitting steps before it must spell one of
    /// GPT-2, Digits + GPT-2, or Llama 3.
    init(tokenizerJSON config: TokenizerJSON.PreTokenizer, source: String) throws(TokenizerError) {
        func unsupported(_ detail: String) -> TokenizerError {
            TokenizerError(file: source, problem: .unsupportedFeature("pre_tokenizer: \(detail)"))
        }
        var steps: [TokenizerJSON.PreTokenizer] = []
        func flatten(_ node: TokenizerJSON.PreTokenizer) {
            if node.type == "Sequence" {
                node.pretokenizers?.forEach(flatten)
            } else {
                steps.append(node)
            }
        }
        flatten(config)
        guard let byteLevel = steps.last, byteLevel.type == "ByteLevel" else {
            throw unsupported("byte-level BPE needs ByteLevel as the last step, found "
                + steps.map(\.type).joined(separator: ", "))
        }
        steps.removeLast()
        // Hugging Face's defaults when a field is absent: add_prefix_space and use_regex true.
        if byteLevel.addPrefixSpace ?? true { throw unsupported("ByteLevel add_prefix_space") }

        enum Split { case digits, gpt2, llama3 }
        var splits: [Split] = []
        for step in steps {
            switch step.type {
            case "Digits":
                guard step.individualDigits == true else {
                    throw unsupported("Digits without individual_digits")
                }
                splits.append(.digits)
            case "Split":
                let pattern = step.pattern?.regex
                guard step.behavior == "Isolated", step.invert != true else {
                    throw unsupported("Split behavior '\(step.behavior ?? "?")' / invert")
                }
                switch pattern {
                case Self.gpt2Pattern?: splits.append(.gpt2)
                case Self.llama3Pattern?: splits.append(.llama3)
                default:
                    let shown = pattern ?? step.pattern?.string ?? "none"
                    throw unsupported("Split pattern \(shown)")
                }
            default:
                throw unsupported("pre-tokenizer type '\(step.type)'")
            }
        }
        if byteLevel.useRegex ?? true { splits.append(.gpt2) }
        switch splits {
        case [.gpt2]: self = .gpt2
        case [.digits, .gpt2]: self = .smolLM
        case [.llama3]: self = .llama3
        default:
            throw unsupported("the combination of steps "
                + (steps + [byteLevel]).map(\.type).joined(separator: ", "))
        }
    }
}
