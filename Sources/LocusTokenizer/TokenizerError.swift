/// Why a tokenizer could not be loaded, naming the file (or other source) it came from.
public struct TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Problem: Equatable, Sendable {
        /// The file could not be read or parsed as JSON/text at all.
        case cannotRead(String)
        /// A required key (GGUF metadata or JSON field) is absent.
        case missingKey(String)
        /// A key is present but holds the wrong kind of value.
        case wrongType(key: String, expected: String)
        /// The tokenizer model is not one Locus implements (GGUF `tokenizer.ggml.model` other
        /// than "gpt2" (byte-level BPE) or "llama" (SentencePiece); tokenizer.json `model.type`
        /// other than "BPE").
        case unsupportedModel(String)
        /// A GGUF `tokenizer.ggml.pre` name this package has no scanner for.
        case unknownPreTokenizer(String)
        /// A tokenizer.json feature this package does not implement (named in the text).
        case unsupportedFeature(String)
        /// Inconsistent contents: bad merges, ids out of range, mismatched lengths, ….
        case malformed(String)
    }

    public let file: String
    public let problem: Problem

    public init(file: String, problem: Problem) {
        self.file = file
        self.problem = problem
    }

    public var description: String {
        let what: String
        switch problem {
        case .cannotRead(let reason): what = "cannot read tokenizer: \(reason)"
        case .missingKey(let key): what = "missing tokenizer key '\(key)'"
        case .wrongType(let key, let expected):
            what = "tokenizer key '\(key)' should be \(expected)"
        case .unsupportedModel(let model):
            what = "tokenizer model '\(model)' is not supported "
                + "(GGUF 'gpt2' or 'llama', tokenizer.json 'BPE')"
        case .unknownPreTokenizer(let name):
            let known = PreTokenizerKind.knownGGUFNames.joined(separator: ", ")
            what = "unknown pre-tokenizer type '\(name)' (known: \(known))"
        case .unsupportedFeature(let detail): what = "unsupported tokenizer feature: \(detail)"
        case .malformed(let detail): what = "malformed tokenizer: \(detail)"
        }
        return "\(file): \(what)"
    }
}
