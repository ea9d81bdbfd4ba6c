/// An exact SentencePiece-style tokenizer (LLaMA-1/2, Gemma), matching transformers'
/// `LlamaTokenizer`/`GemmaTokenizer` (tokenizers backend).
///
/// `encode` (no BOS; see `Tokenizer.encodePrompt`; `encodeContinuation` omits the prefix of
/// the text's first stretch):
/// 1. special tokens written literally in the text become their ids, leftmost-longest (added
///    tokens with `normalized: false`, as transformers adds control and user-defined pieces);
///    the stretches between them are tokenized independently;
/// 2. in each stretch every space becomes `▁` and a `▁` prefix is added as `spacePrefix` says;
/// 3. the stretch (or each `▁`-started piece of it, with `splitsAtSpaces`) is merged from
///    single characters (`SentencePieceMerger`), with byte fallback for unknown characters.
///
/// `decode` follows transformers' decoder chain `Replace("▁", " ")`, `ByteFallback`, `Fuse`,
/// then `Strip(left: 1)` where the vocabulary says so: pieces give their text with `▁` as a
/// space, special tokens their literal text, each run of byte tokens its bytes as UTF-8 — or
/// one U+FFFD per byte when the run is not valid UTF-8. Ids outside the vocabulary are skipped.
public final class SentencePieceTokenizer: Tokenizer, @unchecked Sendable {
    public let vocabulary: SentencePieceVocabulary
    private let specials: SpecialTokenMatcher

    public init(vocabulary: SentencePieceVocabulary) {
        self.vocabulary = vocabulary
        specials = SpecialTokenMatcher(vocabulary.compiled.specialTokens)
    }

    public var vocabularySize: Int { vocabulary.tokens.count }
    public var bosID: Int? { vocabulary.bosID }
    public var eosID: Int? { vocabulary.eosID }
    public var addsBOS: Bool { vocabulary.addsBOS }
    public var addsEOS: Bool { vocabulary.addsEOS }

    /// The id of a token given in its stored form (`"▁the"`, `"<start_of_turn>"`), if any.
    public func id(of token: String) -> Int? {
        vocabulary.compiled.tokenIDs[CompiledSentencePiece.key(token)]
    }

    public func tokenString(_ id: Int) -> String {
        precondition(vocabulary.tokens.indices.contains(id), "token id \(id) is out of range")
        return vocabulary.tokens[id]
    }

    public func encode(_ text: String) -> [Int] { encode(text, startsInput: true) }

    public func encodeContinuation(_ text: String) -> [Int] { encode(text, startsInput: false) }

    private func encode(_ text: String, startsInput: Bool) -> [Int] {
        let values = text.unicodeScalars.map(\.value)
        var output: [Int] = []
        output.reserveCapacity(values.count / 3 + 1)
        var merger = SentencePieceMerger()
        var normalized: [UInt32] = []
        specials.split(values, text: { stretch in
            let isFirst = startsInput && stretch.lowerBound == 0
            normalize(values[stretch], isFirst: isFirst, continues: !isFirst && stretch.lowerBound == 0,
                      into: &normalized)
            guard vocabulary.splitsAtSpaces else {
                merger.encode(normalized[...], vocabulary: vocabulary, into: &output)
                return
            }
            var start = 0
            for index in normalized.indices
            where index > start && normalized[index] == CompiledSentencePiece.metaspace {
                merger.encode(normalized[start..<index], vocabulary: vocabulary, into: &output)
                start = index
            }
            merger.encode(normalized[start...], vocabulary: vocabulary, into: &output)
        }, special: { id in
            output.append(id)
        })
        return output
    }

    /// Spaces → `▁`, then the prefix `spacePrefix` asks for (none on a stretch that `continues`
    /// earlier text).
    private func normalize(
        _ stretch: ArraySlice<UInt32>, isFirst: Bool, continues: Bool, into out: inout [UInt32]
    ) {
        out.removeAll(keepingCapacity: true)
        let metaspace = CompiledSentencePiece.metaspace
        let startsWithMetaspace = stretch.first == 0x20 || stretch.first == metaspace
        let prefix: Bool
        switch vocabulary.spacePrefix {
        case _ where continues: prefix = false
        case .none: prefix = false
        case .firstStretch: prefix = isFirst && !startsWithMetaspace
        case .everyStretch: prefix = !startsWithMetaspace
        case .everyStretchUnconditionally: prefix = !stretch.isEmpty
        }
        if prefix { out.append(metaspace) }
        for value in stretch { out.append(value == 0x20 ? metaspace : value) }
    }

    public func decode(_ ids: [Int]) -> String {
        let compiled = vocabulary.compiled
        var text = ""
        var byteRun: [UInt8] = []
        func flushBytes() {
            guard !byteRun.isEmpty else { return }
            if let valid = String(validating: byteRun, as: UTF8.self) {
                text += valid
            } else {
                text += String(repeating: "\u{FFFD}", count: byteRun.count)
            }
            byteRun.removeAll(keepingCapacity: true)
        }
        for id in ids where id >= 0 && id < vocabulary.tokens.count {
            let byte = compiled.byteValues[id]
            if byte >= 0 {
                byteRun.append(UInt8(byte))
                continue
            }
            flushBytes()
            var piece = String.UnicodeScalarView()
            for scalar in vocabulary.tokens[id].unicodeScalars {
                piece.append(scalar.value == CompiledSentencePiece.metaspace ? " " : scalar)
            }
            text += String(piece)
        }
        flushBytes()
        if vocabulary.stripsLeadingSpaceOnDecode, text.unicodeScalars.first == " " {
            text.unicodeScalars.removeFirst()
        }
        return text
    }
}
