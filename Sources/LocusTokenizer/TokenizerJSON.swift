/// The parts of a Hugging Face `tokenizer.json` that byte-level BPE needs. Field names keep the
/// file's snake_case spelling; anything not modelled here (truncation, post-processor, decoder)
/// does not affect `encode` without special tokens added, or `decode`.
struct TokenizerJSON: Decodable {
    struct AddedToken: Decodable {
        let id: Int
        let content: String
        let singleWord: Bool?
        let leftStrip: Bool?
        let rightStrip: Bool?
        let special: Bool?

        enum CodingKeys: String, CodingKey {
            case id, content, special
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

        enum CodingKeys: String, CodingKey {
            case type, vocab, merges, dropout
            case unknownToken = "unk_token"
            case continuingSubwordPrefix = "continuing_subword_prefix"
            case endOfWordSuffix = "end_of_word_suffix"
            case byteFallback = "byte_fallback"
            case ignoreMerges = "ignore_merges"
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

        enum CodingKeys: String, CodingKey {
            case type, pretokenizers, pattern, behavior, invert
            case individualDigits = "individual_digits"
            case addPrefixSpace = "add_prefix_space"
            case useRegex = "use_regex"
        }
    }

    /// Only the type of a normalizer is read: any normalizer is unsupported.
    struct Normalizer: Decodable {
        let type: String
    }

    let addedTokens: [AddedToken]?
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let model: Model

    enum CodingKeys: String, CodingKey {
        case normalizer, model
        case addedTokens = "added_tokens"
        case preTokenizer = "pre_tokenizer"
    }
}

/// The special-token names of a `tokenizer_config.json`; each is a string or
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

    enum CodingKeys: String, CodingKey {
        case bosToken = "bos_token"
        case eosToken = "eos_token"
        case padToken = "pad_token"
        case unknownToken = "unk_token"
    }
}
