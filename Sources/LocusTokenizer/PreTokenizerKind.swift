/// How text is cut into pieces ("pre-tokens") before BPE runs on each piece separately.
///
/// Each kind is a hand-written scanner equivalent to a regular expression applied with
/// leftmost-first alternation, as Oniguruma (Hugging Face `tokenizers`) and llama.cpp apply it.
/// `\p{L}`, `\p{N}` and `\s` are decided by Unicode general category (see `ScalarKind`).
public enum PreTokenizerKind: String, Sendable, CaseIterable {
    /// GPT-2's pattern:
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2
    /// Every `\p{N}` scalar alone, then GPT-2's pattern on the text between them.
    /// tokenizer.json: `Sequence[Digits(individual_digits), ByteLevel(use_regex)]` (SmolLM,
    /// StarCoder); llama.cpp: `tokenizer.ggml.pre` = `smollm`, `starcoder`, `refact`, ….
    case smolLM
    /// Llama 3's pattern: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
    /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
    case llama3

    /// The regular expression of the GPT-2 pattern, as tokenizer.json spells it.
    static let gpt2Pattern =
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    /// The regular expression of the Llama 3 pattern, as tokenizer.json spells it.
    static let llama3Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|"#
        + #"\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// GGUF `tokenizer.ggml.pre` names (llama.cpp's `llama-vocab.cpp`) and what they mean here:
    /// the scanner, and whether llama.cpp sets `ignore_merges` for that name.
    static let ggufNames: [String: (kind: PreTokenizerKind, ignoresMerges: Bool)] = [
        "gpt-2": (.gpt2, false), "phi-2": (.gpt2, false), "roberta-bpe": (.gpt2, false),
        "mpt": (.gpt2, false), "olmo": (.gpt2, false), "jais": (.gpt2, false),
        "smollm": (.smolLM, false), "starcoder": (.smolLM, false), "refact": (.smolLM, false),
        "command-r": (.smolLM, false), "codeshell": (.smolLM, false),
        "exaone": (.smolLM, false), "minerva-7b": (.smolLM, false),
        "llama3": (.llama3, true), "llama-v3": (.llama3, true), "llama-bpe": (.llama3, true),
        "falcon3": (.llama3, true), "dbrx": (.llama3, false), "smaug-bpe": (.llama3, false),
    ]

    /// The names `ggufNames` knows, sorted (for error messages).
    static var knownGGUFNames: [String] { ggufNames.keys.sorted() }

    /// The pieces of `text` (no special-token handling), e.g. for inspection:
    /// `PreTokenizerKind.gpt2.split("I'm here")` → `["I", "'m", " here"]`.
    public func split(_ text: String) -> [String] {
        let scalars = ScalarText(text)
        var pieces: [Range<Int>] = []
        appendPieces(of: scalars, in: 0..<scalars.count, to: &pieces)
        return pieces.map { range in
            String(decoding: scalars.utf8[scalars.utf8Range(range)], as: UTF8.self)
        }
    }

    /// Appends the pieces of `text[range]` (scalar indices) to `pieces`, in order; together
    /// they cover `range` exactly. The pattern sees `range.upperBound` as the end of the text.
    func appendPieces(of text: ScalarText, in range: Range<Int>, to pieces: inout [Range<Int>]) {
        switch self {
        case .gpt2:
            PatternScanner.gpt2(text, range, &pieces)
        case .llama3:
            PatternScanner.llama3(text, range, &pieces)
        case .smolLM:
            var start = range.lowerBound
            for index in range where text.kinds[index] == .number {
                if start < index { PatternScanner.gpt2(text, start..<index, &pieces) }
                pieces.append(index..<index + 1)
                start = index + 1
            }
            if start < range.upperBound {
                PatternScanner.gpt2(text, start..<range.upperBound, &pieces)
            }
        }
    }
}
