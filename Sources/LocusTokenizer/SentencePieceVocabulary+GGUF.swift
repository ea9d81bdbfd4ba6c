import LocusCheckpoint

public extension SentencePieceVocabulary {
    /// Reads the SentencePiece tokenizer llama.cpp's converter stores in GGUF metadata:
    ///
    /// | key | value |
    /// |---|---|
    /// | `tokenizer.ggml.model` | must be `"llama"` (SentencePiece) |
    /// | `tokenizer.ggml.tokens` | string array, index = id |
    /// | `tokenizer.ggml.scores` | float array, one per token (merge priority) |
    /// | `tokenizer.ggml.token_type` | int array of `TokenType`s; all normal if absent |
    /// | `tokenizer.ggml.add_space_prefix` | bool, default true (`add_dummy_prefix`) |
    /// | `tokenizer.ggml.add_bos_token`, `…add_eos_token` | bools, defaults true / false |
    /// | `tokenizer.ggml.{bos,eos,unknown,padding}_token_id` | optional ints |
    ///
    /// Merging is by piece score (llama.cpp's `llm_tokenizer_spm`). What the result must equal is
    /// transformers' tokenizer loaded from the same file (integrations/gguf/
    /// gguf_tokenizer_mapping.py, transformers 5.24), which this follows where the two differ:
    /// - the `▁` prefix goes only before the text's first stretch, and not when it already starts
    ///   with a space (`LlamaTokenizer`'s Metaspace `prepend_scheme: "first"`; llama.cpp adds one
    ///   after every special token too);
    /// - for `general.architecture` gemma, gemma2 and gemma3 (`gemma_tokenizer`): a
    ///   token of whitespace containing a real space is respelled as that many `▁` and becomes an
    ///   ordinary mergeable piece (llama.cpp matches it literally), and a piece's merge
    ///   priority is its position in the file, not its score (Gemma's scores put these
    ///   whitespace pieces last; for every other piece they fall with the id);
    /// - an absent `add_bos_token` means true (`get_gguf_tokenizer`, as llama.cpp).
    ///
    /// - Parameters:
    ///   - metadata: the GGUF file's key/value metadata (`tokenizer.ggml.*`).
    ///   - file: names the GGUF file in errors.
    /// - Throws: `TokenizerError`: `.unsupportedModel` unless the model is `llama`,
    ///   `.missingKey`, `.wrongType` or `.malformed`.
    init(ggufMetadata metadata: [String: GGUFValue], file: String) throws(TokenizerError) {
        let reader = GGUFTokenizerKeys(metadata: metadata, file: file)
        let modelName = try reader.string("tokenizer.ggml.model")
        guard modelName == "llama" else {
            throw TokenizerError(file: file, problem: .unsupportedModel(modelName))
        }
        var tokens = try reader.strings("tokenizer.ggml.tokens")
        let scores = try reader.floats("tokenizer.ggml.scores")
        var tokenTypes = try reader.optionalInts("tokenizer.ggml.token_type")
            ?? Array(repeating: TokenType.normal.rawValue, count: tokens.count)
        guard scores.count == tokens.count, tokenTypes.count == tokens.count else {
            throw TokenizerError(file: file, problem: .malformed(
                "\(tokens.count) tokens, \(scores.count) scores, \(tokenTypes.count) token types"))
        }
        let architecture = metadata["general.architecture"]?.string ?? ""
        var priority = scores
        if ["gemma", "gemma2", "gemma3"].contains(architecture) {
            // transformers: `"▁" * len(t) if " " in t and not t.strip()`.
            for (id, token) in tokens.enumerated()
            where token.unicodeScalars.contains(" ")
                && token.unicodeScalars.allSatisfy(Self.isPythonWhitespace)
            {
                tokens[id] = String(repeating: "\u{2581}", count: token.unicodeScalars.count)
                tokenTypes[id] = TokenType.normal.rawValue
            }
            priority = tokens.indices.map { -Float($0) }
        }
        let addsPrefix = try reader.optionalBool("tokenizer.ggml.add_space_prefix") ?? true
        try self.init(
            tokens: tokens, tokenTypes: tokenTypes, mergePriority: .pieceScores(priority),
            spacePrefix: addsPrefix ? .firstStretch : .none, byteFallback: true,
            stripsLeadingSpaceOnDecode: addsPrefix,
            bosID: reader.optionalInt("tokenizer.ggml.bos_token_id"),
            eosID: reader.optionalInt("tokenizer.ggml.eos_token_id"),
            unknownID: reader.optionalInt("tokenizer.ggml.unknown_token_id"),
            paddingID: reader.optionalInt("tokenizer.ggml.padding_token_id"),
            addsBOS: reader.optionalBool("tokenizer.ggml.add_bos_token") ?? true,
            addsEOS: reader.optionalBool("tokenizer.ggml.add_eos_token") ?? false,
            source: file)
    }

    /// Python's `str.isspace` (what `str.strip()` removes): White_Space plus U+001C–U+001F.
    private static func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }

    /// The tokenizer stored in an opened GGUF file (see `init(ggufMetadata:file:)`).
    init(gguf file: GGUFFile) throws(TokenizerError) {
        try self.init(ggufMetadata: file.metadata, file: file.url.path)
    }
}

/// Typed reads of `tokenizer.ggml.*` keys, with errors naming the file and key.
struct GGUFTokenizerKeys {
    let metadata: [String: GGUFValue]
    let file: String

    func fail(_ problem: TokenizerError.Problem) -> TokenizerError {
        TokenizerError(file: file, problem: problem)
    }

    func value(_ key: String) throws(TokenizerError) -> GGUFValue {
        guard let value = metadata[key] else { throw fail(.missingKey(key)) }
        return value
    }

    func string(_ key: String) throws(TokenizerError) -> String {
        guard let text = try value(key).string else {
            throw fail(.wrongType(key: key, expected: "a string"))
        }
        return text
    }

    func strings(_ key: String) throws(TokenizerError) -> [String] {
        let elements = try value(key).array?.map(\.string)
        guard let elements, !elements.contains(nil) else {
            throw fail(.wrongType(key: key, expected: "an array of strings"))
        }
        return elements.map { $0! }
    }

    func floats(_ key: String) throws(TokenizerError) -> [Float] {
        let elements = try value(key).array?.map(\.double)
        guard let elements, !elements.contains(nil) else {
            throw fail(.wrongType(key: key, expected: "an array of floats"))
        }
        return elements.map { Float($0!) }
    }

    func optionalInts(_ key: String) throws(TokenizerError) -> [Int]? {
        guard let found = metadata[key] else { return nil }
        let elements = found.array?.map(\.int)
        guard let elements, !elements.contains(nil) else {
            throw fail(.wrongType(key: key, expected: "an integer array"))
        }
        return elements.map { $0! }
    }

    func optionalInt(_ key: String) throws(TokenizerError) -> Int? {
        guard let found = metadata[key] else { return nil }
        guard let id = found.int else { throw fail(.wrongType(key: key, expected: "an integer")) }
        return id
    }

    func optionalBool(_ key: String) throws(TokenizerError) -> Bool? {
        guard let found = metadata[key] else { return nil }
        guard let flag = found.bool else { throw fail(.wrongType(key: key, expected: "a bool")) }
        return flag
    }
}
