import LocusCheckpoint

public extension BPEVocabulary {
    /// Reads the tokenizer that llama.cpp's converter stores in GGUF metadata:
    ///
    /// | key | value |
    /// |---|---|
    /// | `tokenizer.ggml.model` | must be `"gpt2"` (byte-level BPE) |
    /// | `tokenizer.ggml.tokens` | string array, index = id |
    /// | `tokenizer.ggml.token_type` | int array of `TokenType`s; all normal if absent |
    /// | `tokenizer.ggml.merges` | string array `"a b"`, by rank |
    /// | `tokenizer.ggml.pre` | pre-tokenizer name, e.g. `"smollm"`, `"gpt-2"`, `"llama-bpe"` |
    /// | `tokenizer.ggml.{bos,eos,unknown,padding}_token_id` | optional ints |
    /// | `tokenizer.ggml.add_bos_token`, `…add_eos_token` | optional bools, default false (as
    /// transformers' `GPT2Tokenizer`, which adds neither) |
    ///
    /// - Parameters:
    ///   - metadata: the GGUF file's key/value metadata (`tokenizer.ggml.*`).
    ///   - file: names the GGUF file in errors.
    /// - Throws: `TokenizerError`: `.unsupportedModel` unless the model is `gpt2`,
    ///   `.unknownPreTokenizer` naming an unrecognised `tokenizer.ggml.pre`, `.missingKey`,
    ///   `.wrongType` or `.malformed`.
    init(ggufMetadata metadata: [String: GGUFValue], file: String) throws(TokenizerError) {
        func fail(_ problem: TokenizerError.Problem) -> TokenizerError {
            TokenizerError(file: file, problem: problem)
        }
        func value(_ key: String) throws(TokenizerError) -> GGUFValue {
            guard let value = metadata[key] else { throw fail(.missingKey(key)) }
            return value
        }
        func strings(_ key: String) throws(TokenizerError) -> [String] {
            let elements = try value(key).array?.map(\.string)
            guard let elements, !elements.contains(nil) else {
                throw fail(.wrongType(key: key, expected: "an array of strings"))
            }
            return elements.map { $0! }
        }
        func optionalID(_ key: String) throws(TokenizerError) -> Int? {
            guard let found = metadata[key] else { return nil }
            guard let id = found.int else {
                throw fail(.wrongType(key: key, expected: "an integer"))
            }
            return id
        }

        let model = try value("tokenizer.ggml.model")
        guard let modelName = model.string else {
            throw fail(.wrongType(key: "tokenizer.ggml.model", expected: "a string"))
        }
        guard modelName == "gpt2" else { throw fail(.unsupportedModel(modelName)) }
        guard let preName = try value("tokenizer.ggml.pre").string else {
            throw fail(.wrongType(key: "tokenizer.ggml.pre", expected: "a string"))
        }
        guard let pre = PreTokenizerKind.ggufNames[preName] else {
            throw fail(.unknownPreTokenizer(preName))
        }
        let tokens = try strings("tokenizer.ggml.tokens")
        let tokenTypes: [Int]
        if let types = metadata["tokenizer.ggml.token_type"] {
            let elements = types.array?.map(\.int)
            guard let elements, !elements.contains(nil) else {
                throw fail(.wrongType(
                    key: "tokenizer.ggml.token_type", expected: "an integer array"))
            }
            tokenTypes = elements.map { $0! }
        } else {
            tokenTypes = Array(repeating: TokenType.normal.rawValue, count: tokens.count)
        }
        try self.init(
            tokens: tokens, tokenTypes: tokenTypes, merges: strings("tokenizer.ggml.merges"),
            preTokenizer: pre.kind, ignoresMerges: pre.ignoresMerges,
            bosID: optionalID("tokenizer.ggml.bos_token_id"),
            eosID: optionalID("tokenizer.ggml.eos_token_id"),
            unknownID: optionalID("tokenizer.ggml.unknown_token_id"),
            paddingID: optionalID("tokenizer.ggml.padding_token_id"),
            addsBOS: GGUFTokenizerKeys(metadata: metadata, file: file)
                .optionalBool("tokenizer.ggml.add_bos_token") ?? false,
            addsEOS: GGUFTokenizerKeys(metadata: metadata, file: file)
                .optionalBool("tokenizer.ggml.add_eos_token") ?? false,
            source: file)
    }
}

public extension BPEVocabulary {
    /// The tokenizer stored in an opened GGUF file (see `init(ggufMetadata:file:)`).
    init(gguf file: GGUFFile) throws(TokenizerError) {
        try self.init(ggufMetadata: file.metadata, file: file.url.path)
    }
}
