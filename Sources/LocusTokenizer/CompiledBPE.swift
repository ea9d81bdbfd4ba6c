/// The lookup tables a `BPETokenizer` runs on, built (and checked) once per vocabulary.
final class CompiledBPE: Sendable {
    struct BuildError: Error { let detail: String }

    /// Token string → id. Where two ids share a string the later one wins (as in llama.cpp).
    let tokenIDs: [String: Int]
    /// `byteTokenIDs[b]`: the id of the one-byte token for byte `b`, or -1 if missing.
    let byteTokenIDs: [Int32]
    /// `(left << 32 | right)` → `(rank << 32 | merged)`, ids and ranks as `UInt32`. A pair listed
    /// twice keeps its last rank (Hugging Face builds its merge map the same way).
    let merges: [UInt64: UInt64]
    /// Special tokens (unknown, control and user-defined types) as (text, id).
    let specialTokens: [(text: String, id: Int)]
    /// Decoded bytes of token `i`: `decodedBytes[decodedOffsets[i]..<decodedOffsets[i + 1]]`.
    let decodedBytes: [UInt8]
    let decodedOffsets: [Int]

    init(tokens: [String], tokenTypes: [Int], merges mergeRules: [String]) throws(BuildError) {
        var tokenIDs: [String: Int] = [:]
        tokenIDs.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() { tokenIDs[token] = id }

        var byteTokenIDs = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            let text = String(Character(ByteLevel.scalar(for: UInt8(byte))))
            if let id = tokenIDs[text] { byteTokenIDs[byte] = Int32(id) }
        }

        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(mergeRules.count)
        for (rank, rule) in mergeRules.enumerated() {
            let parts = rule.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw BuildError(detail: "merge \(rank) '\(rule)' is not two tokens 'a b'")
            }
            let left = String(parts[0])
            let right = String(parts[1])
            guard let leftID = tokenIDs[left], let rightID = tokenIDs[right] else {
                throw BuildError(
                    detail: "merge \(rank) '\(rule)' uses a token not in the vocabulary")
            }
            guard let mergedID = tokenIDs[left + right] else {
                throw BuildError(detail: "merge \(rank) '\(rule)' makes '\(left + right)', "
                    + "which is not in the vocabulary")
            }
            merges[UInt64(leftID) << 32 | UInt64(rightID)] = UInt64(rank) << 32 | UInt64(mergedID)
        }

        var specialTokens: [(text: String, id: Int)] = []
        var decodedBytes: [UInt8] = []
        var decodedOffsets = [0]
        decodedOffsets.reserveCapacity(tokens.count + 1)
        for (id, token) in tokens.enumerated() {
            let special = BPEVocabulary.isSpecial(type: tokenTypes[id])
            if special { specialTokens.append((token, id)) }
            // Hugging Face's ByteLevel decoder keeps a token's own UTF-8 when any of its
            // characters is not a byte scalar; special tokens are literal text.
            let bytes = special ? nil : ByteLevel.bytes(of: token)
            decodedBytes.append(contentsOf: bytes ?? Array(token.utf8))
            decodedOffsets.append(decodedBytes.count)
        }

        self.tokenIDs = tokenIDs
        self.byteTokenIDs = byteTokenIDs
        self.merges = merges
        self.specialTokens = specialTokens
        self.decodedBytes = decodedBytes
        self.decodedOffsets = decodedOffsets
    }
}
