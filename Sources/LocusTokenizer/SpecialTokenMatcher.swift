/// Finds special tokens written literally in a text, leftmost-longest: scanning from the left,
/// the first position where some special token starts wins, and among the tokens starting there
/// the longest (Hugging Face `tokenizers` builds an Aho–Corasick automaton with
/// `MatchKind::LeftmostLongest` for its added tokens; this is the same rule on a trie).
struct SpecialTokenMatcher: Sendable {
    private struct Node: Sendable {
        var children: [UInt32: Int32] = [:]
        var tokenID: Int32 = -1
    }

    /// Trie over scalar values; node 0 is the root.
    private var nodes = [Node()]
    /// Bit `v` set when some token starts with ASCII scalar `v` (a fast rejection test).
    private var asciiStarts: (UInt64, UInt64) = (0, 0)
    private var hasNonASCIIStart = false

    /// `tokens` pairs each special token's text with its id; empty texts are ignored. When two
    /// ids share a text, the later one wins.
    init(_ tokens: [(text: String, id: Int)]) {
        for (text, id) in tokens where !text.isEmpty {
            var node = 0
            for scalar in text.unicodeScalars {
                if let child = nodes[node].children[scalar.value] {
                    node = Int(child)
                } else {
                    nodes.append(Node())
                    nodes[node].children[scalar.value] = Int32(nodes.count - 1)
                    node = nodes.count - 1
                }
            }
            nodes[node].tokenID = Int32(id)
            let first = text.unicodeScalars.first!.value
            switch first {
            case 0..<64: asciiStarts.0 |= 1 << UInt64(first)
            case 64..<128: asciiStarts.1 |= 1 << UInt64(first - 64)
            default: hasNonASCIIStart = true
            }
        }
    }

    var isEmpty: Bool { nodes.count == 1 }

    /// The longest special token starting at scalar `start`, as (end index, id).
    @inline(__always)
    func match(in values: [UInt32], at start: Int) -> (end: Int, id: Int)? {
        let first = values[start]
        switch first {
        case 0..<64: if asciiStarts.0 & (1 << UInt64(first)) == 0 { return nil }
        case 64..<128: if asciiStarts.1 & (1 << UInt64(first - 64)) == 0 { return nil }
        default: if !hasNonASCIIStart { return nil }
        }
        var node = 0
        var best: (end: Int, id: Int)?
        var index = start
        while index < values.count, let child = nodes[node].children[values[index]] {
            node = Int(child)
            index += 1
            if nodes[node].tokenID >= 0 { best = (index, Int(nodes[node].tokenID)) }
        }
        return best
    }

    /// Calls `text(range)` for each stretch of ordinary text and `special(id)` for each special
    /// token, in order. Stretches are non-empty.
    func split(
        _ values: [UInt32], text: (Range<Int>) -> Void, special: (Int) -> Void
    ) {
        guard !isEmpty else {
            if !values.isEmpty { text(0..<values.count) }
            return
        }
        var stretchStart = 0
        var index = 0
        while index < values.count {
            if let (end, id) = match(in: values, at: index) {
                if stretchStart < index { text(stretchStart..<index) }
                special(id)
                index = end
                stretchStart = end
            } else {
                index += 1
            }
        }
        if stretchStart < values.count { text(stretchStart..<values.count) }
    }
}
