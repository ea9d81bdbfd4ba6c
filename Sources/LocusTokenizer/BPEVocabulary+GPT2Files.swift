import Foundation

public extension BPEVocabulary {
    /// Reads GPT-2's original pair of files: `vocab.json` (an object token → id) and
    /// `merges.txt` (one `"a b"` merge per line by rank, after an optional `#version` line).
    ///
    /// The pre-tokenizer is GPT-2's pattern. `specialTokens` name vocabulary entries that are
    /// matched literally in text (type control); the first also becomes the BOS, EOS and unknown
    /// token, as in `transformers`' GPT-2 tokenizer (`<|endoftext|>` for all three).
    /// - Throws: `TokenizerError`: `.cannotRead`, `.malformed` (ids with gaps or duplicates,
    ///   bad merges), or `.missingKey` for a special token absent from the vocabulary.
    init(
        vocabJSON: URL, mergesTXT: URL, specialTokens: [String] = ["<|endoftext|>"]
    ) throws(TokenizerError) {
        let source = vocabJSON.path
        let vocab: [String: Int]
        do {
            vocab = try JSONDecoder().decode([String: Int].self, from: Data(contentsOf: vocabJSON))
        } catch {
            throw TokenizerError(file: source, problem: .cannotRead("\(error)"))
        }
        var tokens = try Self.denseTokens(vocab, source: source)
        var types = Array(repeating: TokenType.normal.rawValue, count: tokens.count)
        for token in specialTokens {
            guard let id = vocab[token] else {
                throw TokenizerError(file: source, problem: .missingKey(token))
            }
            types[id] = TokenType.control.rawValue
            tokens[id] = token
        }
        let text: String
        do {
            text = try String(contentsOf: mergesTXT, encoding: .utf8)
        } catch {
            throw TokenizerError(file: mergesTXT.path, problem: .cannotRead("\(error)"))
        }
        var merges: [String] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated()
        {
            if number == 0 && line.hasPrefix("#version") { continue }
            let rule = line.hasSuffix("\r") ? line.dropLast() : line
            if rule.isEmpty { continue }
            merges.append(String(rule))
        }
        let special = specialTokens.first.flatMap { vocab[$0] }
        try self.init(
            tokens: tokens, tokenTypes: types, merges: merges, preTokenizer: .gpt2,
            bosID: special, eosID: special, unknownID: special, source: source)
    }

    /// The tokens of a token → id map as an array indexed by id; ids must be 0..<count.
    internal static func denseTokens(
        _ vocab: [String: Int], source: String
    ) throws(TokenizerError) -> [String] {
        var tokens = [String?](repeating: nil, count: vocab.count)
        for (token, id) in vocab {
            guard tokens.indices.contains(id), tokens[id] == nil else {
                throw TokenizerError(file: source, problem: .malformed(
                    "vocabulary ids must be 0..<\(vocab.count), each once; "
                        + "found \(id) for '\(token)'"))
            }
            tokens[id] = token
        }
        return tokens.map { $0! }
    }
}
