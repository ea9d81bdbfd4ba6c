/// The parts of a Hugging Face `tokenizer.json` that byte-level and SentencePiece-style BPE need.
/// Field names keep the file's snake_case spelling; anything not modelled here (truncation,
/// padding, pair templates) does not affect `encode`, `encodePrompt` or `decode`.
struct TokenizerJSON: Decodable {
    struct AddedToken: Decodable {
        let id: Int
        let content: String
        let singleWord: Bool?
        let leftStrip: Bool?
        let rightStrip: Bool?
        let special: Bool?
        let normalized: Bool?

        enum CodingKeys: String, CodingKey {
            case id, content, special, normalized
            case singleWord = "single_word"
            case leftStrip = "lstrip"
            case rightStrip = "rstrip"
        }
    }

    /// Merges are `"a b"` strings (older files) or `["a", "b"]` pairs (tokenizers ≥ 0.20).
    enum Merges: Decodable {
        case strings([String])
        case pairs([[String]])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let strings = try? container.decode([String].self) {
                self = .strings(strings)
            } else {
                self = .pairs(try container.decode([[String]].self))
            }
        }
    }

    struct Model: Decodable {
        let type: String?
        let vocab: [String: Int]
        let merges: Merges
        let unknownToken: String?
        let continuingSubwordPrefix: String?
        let endOfWordSuffix: String?
        let byteFallback: Bool?
        let ignoreMerges: Bool?
        let dropout: Double?
        let fuseUnknown: Bool?

        enum CodingKeys: String, CodingKey {
            case type, vocab, merges, dropout
            case unknownToken = "unk_token"
            case continuingSubwordPrefix = "continuing_subword_prefix"
            case endOfWordSuffix = "end_of_word_suffix"
            case byteFallback = "byte_fallback"
            case ignoreMerges = "ignore_merges"
            case fuseUnknown = "fuse_unk"
        }
    }

    /// One pre-tokenizer; `Sequence` nests others in `pretokenizers`.
    struct PreTokenizer: Decodable {
        struct Pattern: Decodable {
            let regex: String?
            let string: String?

            enum CodingKeys: String, CodingKey {
                case regex = "Regex"
                case string = "String"
            }
        }

        let type: String
        let pretokenizers: [PreTokenizer]?
        let individualDigits: Bool?
        let addPrefixSpace: Bool?
        let useRegex: Bool?
        let pattern: Pattern?
        let behavior: String?
        let invert: Bool?
        /// Metaspace: the space replacement (`▁`), `always`/`first`/`never`, and splitting.
        let replacement: String?
        let prependScheme: String?
        let split: Bool?

        enum CodingKeys: String, CodingKey {
            case type, pretokenizers, pattern, behavior, invert, replacement, split
            case prependScheme = "prepend_scheme"
            case individualDigits = "individual_digits"
            case addPrefixSpace = "add_prefix_space"
            case useRegex = "use_regex"
        }
    }

    /// A normalizer; byte-level BPE supports none, SentencePiece `Replace`, `Prepend` and a
    /// `Sequence` of them.
    struct Normalizer: Decodable {
        let type: String
        let normalizers: [Normalizer]?
        let prepend: String?
        let pattern: PreTokenizer.Pattern?
        let content: String?
    }

    /// A post-processor; only `TemplateProcessing` (and a `Sequence` holding one) is read, for
    /// the special tokens it puts around a single sequence.
    struct PostProcessor: Decodable {
        struct Piece: Decodable {
            struct Named: Decodable { let id: String }
            let specialToken: Named?
            let sequence: Named?

            enum CodingKeys: String, CodingKey {
                case specialToken = "SpecialToken"
                case sequence = "Sequence"
            }
        }

        let type: String
        let single: [Piece]?
        let processors: [PostProcessor]?
    }

    /// A decoder; SentencePiece reads whether a `Strip` (of `start` leading spaces) is in it.
    struct DecoderStep: Decodable {
        let type: String
        let decoders: [DecoderStep]?
        let content: String?
        let start: Int?
    }

    let addedTokens: [AddedToken]?
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let postProcessor: PostProcessor?
    let decoder: DecoderStep?
    let model: Model
    /// `model.vocab` in file order with keys exactly as written (`JSONObjectScanner`); the
    /// decoded `model.vocab` merges pieces that are canonically equivalent Unicode.
    var exactVocabulary: [(key: String, value: Int)]?

    enum CodingKeys: String, CodingKey {
        case normalizer, model, decoder
        case addedTokens = "added_tokens"
        case preTokenizer = "pre_tokenizer"
        case postProcessor = "post_processor"
    }
}

/// The special-token names and BOS/EOS flags of a `tokenizer_config.json`; each name is a string or
/// `{"content": …}` (an AddedToken), or null.
struct TokenizerConfigJSON: Decodable {
    struct TokenName: Decodable {
        let content: String?

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                content = nil
            } else if let text = try? container.decode(String.self) {
                content = text
            } else {
                content = try container.decode(Object.self).content
            }
        }

        private struct Object: Decodable { let content: String? }
    }

    let bosToken: TokenName?
    let eosToken: TokenName?
    let padToken: TokenName?
    let unknownToken: TokenName?
    /// Whether transformers adds BOS / EOS (when present, these override the post-processor).
    let addBOSToken: Bool?
    let addEOSToken: Bool?

    enum CodingKeys: String, CodingKey {
        case addBOSToken = "add_bos_token"
        case addEOSToken = "add_eos_token"
        case bosToken = "bos_token"
        case eosToken = "eos_token"
        case padToken = "pad_token"
        case unknownToken = "unk_token"
    }
}
