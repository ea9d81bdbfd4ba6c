import Foundation

/// BOS/EOS names and whether they are added, from a tokenizer.json and the
/// `tokenizer_config.json` beside it, as transformers (5.x, `TokenizersBackend`) decides:
/// `add_bos_token`/`add_eos_token` in tokenizer_config.json, when present, rebuild the
/// post-processor (`update_post_processor`) and so decide; otherwise the file's own
/// `TemplateProcessing` does: a special token before `$A` is added before every input, one
/// after it after every input.
struct SpecialTokenRule {
    var bosName: String?
    var eosName: String?
    var paddingName: String?
    var addsBOS: Bool
    var addsEOS: Bool

    init(json: TokenizerJSON, config: TokenizerConfigJSON?, source: String) throws(TokenizerError) {
        func unsupported(_ detail: String) -> TokenizerError {
            TokenizerError(file: source, problem: .unsupportedFeature(detail))
        }
        var before: [String] = []
        var after: [String] = []
        if let template = Self.template(json.postProcessor) {
            var seenSequence = false
            for piece in template {
                if let special = piece.specialToken {
                    if seenSequence { after.append(special.id) } else { before.append(special.id) }
                } else if piece.sequence != nil {
                    seenSequence = true
                }
            }
        }
        guard before.count <= 1, after.count <= 1 else {
            throw unsupported("post_processor TemplateProcessing adding \(before) before and "
                + "\(after) after the text (one BOS and one EOS at most)")
        }
        bosName = config?.bosToken?.content ?? before.first
        eosName = config?.eosToken?.content ?? after.first
        paddingName = config?.padToken?.content
        if let first = before.first, config?.addBOSToken == nil, first != bosName {
            throw unsupported("post_processor adds '\(first)', which is not the BOS '\(bosName ?? "")'")
        }
        if let last = after.first, config?.addEOSToken == nil, last != eosName {
            throw unsupported("post_processor adds '\(last)', which is not the EOS '\(eosName ?? "")'")
        }
        addsBOS = config?.addBOSToken ?? !before.isEmpty
        addsEOS = config?.addEOSToken ?? !after.isEmpty
    }

    /// The single-sequence template of a TemplateProcessing, also inside a `Sequence`.
    private static func template(
        _ processor: TokenizerJSON.PostProcessor?
    ) -> [TokenizerJSON.PostProcessor.Piece]? {
        guard let processor else { return nil }
        if processor.type == "TemplateProcessing" { return processor.single }
        for inner in processor.processors ?? [] {
            if let found = template(inner) { return found }
        }
        return nil
    }
}

extension TokenizerConfigJSON {
    /// The `tokenizer_config.json` in the same folder as `url`, if there is a readable one.
    static func besides(_ url: URL) -> TokenizerConfigJSON? {
        let configURL = url.deletingLastPathComponent().appendingPathComponent(
            "tokenizer_config.json")
        guard let data = try? Data(contentsOf: configURL) else { return nil }
        return try? JSONDecoder().decode(TokenizerConfigJSON.self, from: data)
    }
}

extension TokenizerJSON {
    /// Reads and decodes a tokenizer.json (`decodeChecked`: one-line errors naming the file, ids
    /// bounded by the file size), then reads `model.vocab` again with exact keys
    /// (`exactVocabulary`), bounded the same way.
    static func read(_ url: URL) throws(TokenizerError) -> TokenizerJSON {
        var json = try decodeChecked(url)
        func fail(_ problem: TokenizerError.Problem) -> TokenizerError {
            TokenizerError(file: url.path, problem: problem)
        }
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: url)) } catch {
            throw fail(.cannotRead("the file cannot be read"))
        }
        do {
            json.exactVocabulary = try JSONObjectScanner.integerMembers(
                of: bytes, at: ["model", "vocab"])
        } catch {
            throw fail(.cannotRead("model.vocab: \(error.detail)"))
        }
        if let bad = json.exactVocabulary?.first(where: { $0.value < 0 || $0.value >= bytes.count }) {
            throw fail(.malformed("token id \(bad.value) ('\(bad.key)') is negative or larger "
                + "than the file (\(bytes.count) bytes) can describe"))
        }
        return json
    }

    /// Merge rules as `"a b"` strings (pairs joined by a space).
    func mergeRules(source: String) throws(TokenizerError) -> [String] {
        switch model.merges {
        case .strings(let strings): return strings
        case .pairs(let pairs):
            return try pairs.enumerated().map { (rank, pair) throws(TokenizerError) in
                guard pair.count == 2, !pair[0].unicodeScalars.contains(" "),
                    !pair[1].unicodeScalars.contains(" ")
                else {
                    throw TokenizerError(file: source, problem: .malformed(
                        "merge \(rank) \(pair) is not a pair of space-free tokens"))
                }
                return pair[0] + " " + pair[1]
            }
        }
    }

    /// Whether this file describes a SentencePiece-style BPE (byte fallback, or spaces as `▁`
    /// through a Metaspace pre-tokenizer or a Replace normalizer) rather than byte-level BPE.
    var isSentencePiece: Bool {
        if model.byteFallback == true { return true }
        if preTokenizer?.type == "Metaspace" { return true }
        func replacesSpaces(_ node: Normalizer) -> Bool {
            (node.type == "Replace" && node.content == "\u{2581}")
                || (node.normalizers ?? []).contains(where: replacesSpaces)
        }
        return normalizer.map(replacesSpaces) ?? false
    }
}
