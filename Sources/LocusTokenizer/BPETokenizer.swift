/// An exact byte-level BPE tokenizer (GPT-2, SmolLM2, Llama 3 style).
///
/// `encode` follows the Hugging Face `tokenizers` pipeline:
/// 1. special tokens written literally in the text become their ids (leftmost-longest match;
///    see `SpecialTokenMatcher`); the stretches between them are tokenized independently;
/// 2. each stretch is cut into pieces by the vocabulary's `PreTokenizerKind`;
/// 3. each piece's UTF-8 bytes become one-byte tokens, merged by rank (`BPEMerger`), or the
///    piece's own token when `ignoresMerges` is set and it has one.
///
/// `decode` concatenates each token's bytes (byte-level tokens map back through `ByteLevel`,
/// special tokens give their literal text) and decodes UTF-8, replacing each maximal invalid
/// subsequence with U+FFFD. Ids outside the vocabulary are skipped, as Hugging Face does.
public final class BPETokenizer: Tokenizer, @unchecked Sendable {
    public let vocabulary: BPEVocabulary
    private let compiled: CompiledBPE
    private let specials: SpecialTokenMatcher
    private let cache = PieceCache(capacity: 1 << 16)
    /// Pieces longer than this many bytes are merged without caching.
    private static let longestCachedPiece = 64

    public init(vocabulary: BPEVocabulary) {
        self.vocabulary = vocabulary
        compiled = vocabulary.compiled
        specials = SpecialTokenMatcher(vocabulary.compiled.specialTokens)
    }

    public var vocabularySize: Int { vocabulary.tokens.count }
    public var bosID: Int? { vocabulary.bosID }
    public var eosID: Int? { vocabulary.eosID }
    public var addsBOS: Bool { vocabulary.addsBOS }
    public var addsEOS: Bool { vocabulary.addsEOS }

    /// The id of a token given in its stored form (`"Ġthe"`, `"<|im_end|>"`), if any.
    public func id(of token: String) -> Int? { compiled.tokenIDs[token] }

    public func tokenString(_ id: Int) -> String {
        precondition(vocabulary.tokens.indices.contains(id), "token id \(id) is out of range")
        return vocabulary.tokens[id]
    }

    public func encode(_ text: String) -> [Int] {
        let scalars = ScalarText(text)
        var output: [Int] = []
        output.reserveCapacity(scalars.utf8.count / 3 + 1)
        var pieces: [Range<Int>] = []
        var merger = BPEMerger()
        specials.split(scalars.values, text: { stretch in
            pieces.removeAll(keepingCapacity: true)
            vocabulary.preTokenizer.appendPieces(of: scalars, in: stretch, to: &pieces)
            scalars.utf8.withUnsafeBufferPointer { utf8 in
                for piece in pieces {
                    let bytes = UnsafeBufferPointer(rebasing: utf8[scalars.utf8Range(piece)])
                    encodePiece(bytes, merger: &merger, into: &output)
                }
            }
        }, special: { id in
            output.append(id)
        })
        return output
    }

    private func encodePiece(
        _ bytes: UnsafeBufferPointer<UInt8>, merger: inout BPEMerger, into output: inout [Int]
    ) {
        if vocabulary.ignoresMerges, let id = compiled.tokenIDs[ByteLevel.string(for: bytes)] {
            output.append(id)
            return
        }
        if bytes.count == 1 {
            merger.encode(bytes, compiled: compiled, unknownID: vocabulary.unknownID, into: &output)
            return
        }
        guard bytes.count <= Self.longestCachedPiece else {
            merger.encode(bytes, compiled: compiled, unknownID: vocabulary.unknownID, into: &output)
            return
        }
        let key = Array(bytes)
        if let ids = cache.ids(for: key) {
            output.append(contentsOf: ids.lazy.map { Int($0) })
            return
        }
        let start = output.count
        merger.encode(bytes, compiled: compiled, unknownID: vocabulary.unknownID, into: &output)
        cache.store(output[start...].map { Int32($0) }, for: key)
    }

    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        let offsets = compiled.decodedOffsets
        for id in ids where id >= 0 && id < vocabulary.tokens.count {
            bytes.append(contentsOf: compiled.decodedBytes[offsets[id]..<offsets[id + 1]])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
