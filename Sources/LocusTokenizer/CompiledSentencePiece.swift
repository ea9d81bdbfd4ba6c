/// The lookup tables a `SentencePieceTokenizer` runs on, built (and checked) once per vocabulary.
final class CompiledSentencePiece: Sendable {
    struct BuildError: Error { let detail: String }

    /// `▁` (U+2581), SentencePiece's spelling of a space.
    static let metaspace: UInt32 = 0x2581

    /// Token text as Unicode scalar values → id. Where two ids share a text the later one wins
    /// (as in transformers' `{token: index}` vocabulary and llama.cpp). Keys are scalars, not
    /// `String`s: Swift's `String` equality is canonical equivalence, which would make `e` +
    /// U+0301 find the piece `é` (U+00E9), where the references compare exact code points.
    let tokenIDs: [[UInt32]: Int]
    /// The id of each one-scalar token, by scalar value.
    let scalarIDs: [UInt32: Int32]
    /// `byteIDs[b]`: the id of the byte token `<0xBB>`, or -1 if missing.
    let byteIDs: [Int32]
    /// Score mode: `scoreRanks[id]` is 0 for the highest-scoring pieces, 1 for the next score, ….
    let scoreRanks: [UInt32]?
    /// Rule mode: `(left << 32 | right)` → `(rank << 32 | merged)`; a pair listed twice keeps its
    /// last rank (as Hugging Face builds its merge map).
    let merges: [UInt64: UInt64]
    /// Special tokens (unknown, control and user-defined types) as (text, id).
    let specialTokens: [(text: String, id: Int)]
    /// `byteValues[id]`: the byte a byte token stands for, or -1 (decode's ByteFallback).
    let byteValues: [Int16]

    init(
        tokens: [String], tokenTypes: [Int], mergePriority: SentencePieceVocabulary.MergePriority
    ) throws(BuildError) {
        var tokenIDs: [[UInt32]: Int] = [:]
        tokenIDs.reserveCapacity(tokens.count)
        var scalarIDs: [UInt32: Int32] = [:]
        var byteIDs = [Int32](repeating: -1, count: 256)
        var byteValues = [Int16](repeating: -1, count: tokens.count)
        var specialTokens: [(text: String, id: Int)] = []
        for (id, token) in tokens.enumerated() {
            tokenIDs[Self.key(token)] = id
            let scalars = token.unicodeScalars
            if scalars.count == 1 { scalarIDs[scalars.first!.value] = Int32(id) }
            if let byte = Self.byteValue(of: token) {
                byteIDs[Int(byte)] = Int32(id)
                byteValues[id] = Int16(byte)
            }
            if BPEVocabulary.isSpecial(type: tokenTypes[id]) { specialTokens.append((token, id)) }
        }

        var scoreRanks: [UInt32]?
        var merges: [UInt64: UInt64] = [:]
        switch mergePriority {
        case .pieceScores(let scores):
            // Dense ranks of the scores, highest first; equal scores share a rank, so the
            // merger's (rank, position) order is llama.cpp's (score, leftmost) order.
            let order = scores.indices.sorted { scores[$0] > scores[$1] }
            var ranks = [UInt32](repeating: 0, count: scores.count)
            var rank: UInt32 = 0
            for (index, id) in order.enumerated() {
                if index > 0 && scores[id] != scores[order[index - 1]] { rank += 1 }
                ranks[id] = rank
            }
            scoreRanks = ranks
        case .mergeRules(let rules):
            merges.reserveCapacity(rules.count)
            for (rank, rule) in rules.enumerated() {
                // By scalars: a space followed by a combining mark is one `Character`.
                let parts = rule.unicodeScalars.split(
                    separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw BuildError(detail: "merge \(rank) '\(rule)' is not two tokens 'a b'")
                }
                let left = parts[0].map(\.value)
                let right = parts[1].map(\.value)
                guard let leftID = tokenIDs[left], let rightID = tokenIDs[right] else {
                    throw BuildError(
                        detail: "merge \(rank) '\(rule)' uses a token not in the vocabulary")
                }
                guard let mergedID = tokenIDs[left + right] else {
                    throw BuildError(detail: "merge \(rank) '\(rule)' makes a token "
                        + "that is not in the vocabulary")
                }
                merges[UInt64(leftID) << 32 | UInt64(rightID)] =
                    UInt64(rank) << 32 | UInt64(mergedID)
            }
        }
        self.tokenIDs = tokenIDs
        self.scalarIDs = scalarIDs
        self.byteIDs = byteIDs
        self.scoreRanks = scoreRanks
        self.merges = merges
        self.specialTokens = specialTokens
        self.byteValues = byteValues
    }

    /// The lookup key of a token text: its scalar values.
    static func key(_ text: String) -> [UInt32] { text.unicodeScalars.map(\.value) }

    /// The byte of a byte token `<0xNN>` (two upper- or lower-case hex digits), else nil.
    static func byteValue(of token: String) -> UInt8? {
        let utf8 = Array(token.utf8)
        guard utf8.count == 6, utf8[0] == UInt8(ascii: "<"), utf8[1] == UInt8(ascii: "0"),
            utf8[2] == UInt8(ascii: "x"), utf8[5] == UInt8(ascii: ">")
        else { return nil }
        return UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16)
    }
}
