/// Merging of one word (scalars, spaces already `▁`) into SentencePiece pieces, with reusable
/// scratch space.
///
/// The word starts as one symbol per scalar (the scalar's piece, or none). Every adjacent pair
/// that may merge goes into a min-heap keyed by (rank, position of the left symbol); the loop
/// pops the best pair and, if both symbols are still what they were when it was pushed, makes
/// them one symbol and pushes the new pairs with its neighbours.
///
/// - Score mode is llama.cpp's `llm_tokenizer_spm::tokenize` (src/llama-vocab.cpp): a pair may
///   merge when the concatenated text is a piece, whatever the two symbols are; its rank is the
///   dense rank of that piece's score (highest score first, leftmost among equal scores, the
///   order of `llm_bigram_spm::comparator`).
/// - Rule mode is Hugging Face `tokenizers`' `Word::merge_all` (BPE): only listed merges of two
///   pieces apply, lowest rank first, leftmost among equal ranks.
///
/// Symbols left without a piece at the end are single characters (a merge always makes a piece);
/// they become their UTF-8 byte tokens when the vocabulary has byte fallback and all of them
/// exist, else the unknown token, consecutive unknowns fused into one (transformers' Llama and
/// Gemma tokenizers set `fuse_unk`).
struct SentencePieceMerger {
    private struct Candidate: MergeHeapElement {
        var key: UInt64
        var leftID: Int32
        var rightID: Int32
        var mergedID: Int32
    }

    private var ids: [Int32] = []
    private var ends: [Int32] = []
    private var previous: [Int32] = []
    private var next: [Int32] = []
    private var heap = MergeHeap<Candidate>()

    /// Appends the ids of `word` (scalar values), merged, to `output`.
    mutating func encode(
        _ word: ArraySlice<UInt32>, vocabulary: SentencePieceVocabulary, into output: inout [Int]
    ) {
        let compiled = vocabulary.compiled
        let base = word.startIndex
        let count = word.count
        guard count > 0 else { return }
        ids.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        previous.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        for (position, scalar) in word.enumerated() {
            ids.append(compiled.scalarIDs[scalar] ?? -1)
            ends.append(Int32(position + 1))
            previous.append(Int32(position - 1))
            next.append(position + 1 < count ? Int32(position + 1) : -1)
        }
        for position in 0..<count - 1 {
            push(position, position + 1, word: word, base: base, compiled: compiled)
        }
        while let best = heap.popMin() {
            let left = Int(best.key & 0xFFFF_FFFF)
            let right = Int(next[left])
            // Dead symbols have previous == -2; a stale entry no longer joins the same symbols.
            guard previous[left] != -2, right >= 0, ids[left] == best.leftID,
                ids[right] == best.rightID
            else { continue }
            ids[left] = best.mergedID
            ends[left] = ends[right]
            let afterRight = Int(next[right])
            next[left] = Int32(afterRight)
            previous[right] = -2
            if afterRight >= 0 { previous[afterRight] = Int32(left) }
            let before = Int(previous[left])
            if before >= 0 { push(before, left, word: word, base: base, compiled: compiled) }
            if afterRight >= 0 {
                push(left, afterRight, word: word, base: base, compiled: compiled)
            }
        }
        var position = 0
        var lastWasUnknown = false
        while position >= 0 {
            let id = ids[position]
            if id >= 0 {
                output.append(Int(id))
                lastWasUnknown = false
            } else {
                // An unmerged symbol without a piece is one scalar.
                let scalar = Unicode.Scalar(word[base + position]) ?? "\u{FFFD}"
                var bytes: [Int] = []
                if vocabulary.byteFallback {
                    for byte in String(Character(scalar)).utf8 {
                        let byteID = compiled.byteIDs[Int(byte)]
                        guard byteID >= 0 else { bytes.removeAll(); break }
                        bytes.append(Int(byteID))
                    }
                }
                if !bytes.isEmpty {
                    output.append(contentsOf: bytes)
                    lastWasUnknown = false
                } else if let unknownID = vocabulary.unknownID {
                    if !lastWasUnknown { output.append(unknownID) }
                    lastWasUnknown = true
                }
            }
            position = Int(next[position])
        }
    }

    /// Pushes the pair (symbol `left`, symbol `right`) if it may merge.
    @inline(__always)
    private mutating func push(
        _ left: Int, _ right: Int, word: ArraySlice<UInt32>, base: Int,
        compiled: CompiledSentencePiece
    ) {
        let leftID = ids[left]
        let rightID = ids[right]
        if let ranks = compiled.scoreRanks {
            let text = Array(word[(base + left)..<(base + Int(ends[right]))])
            guard let merged = compiled.tokenIDs[text] else { return }
            heap.insert(Candidate(
                key: UInt64(ranks[merged]) << 32 | UInt64(left), leftID: leftID, rightID: rightID,
                mergedID: Int32(merged)))
        } else {
            guard leftID >= 0, rightID >= 0,
                let rule = compiled.merges[UInt64(leftID) << 32 | UInt64(rightID)]
            else { return }
            heap.insert(Candidate(
                key: (rule >> 32) << 32 | UInt64(left), leftID: leftID, rightID: rightID,
                mergedID: Int32(truncatingIfNeeded: rule)))
        }
    }
}
