/// Byte-pair merging of one piece, with reusable scratch space.
///
/// A piece of `n` bytes starts as `n` symbols, the one-byte tokens. Every adjacent pair with a
/// merge rule goes into a min-heap keyed by (rank, position of the left symbol). The loop pops
/// the best pair; if it is still current (left symbol alive, its right neighbour the same pair)
/// the two symbols become the merged token, and the new pairs with its neighbours are pushed.
/// This is Hugging Face `tokenizers`' `Word::merge_all`; it equals the textbook loop "merge the
/// lowest-rank adjacent pair, leftmost first, until none is left", in O(n log n).
struct BPEMerger {
    private struct Candidate: MergeHeapElement {
        var key: UInt64
        var mergedID: UInt32
    }

    private var ids: [UInt32] = []
    private var previous: [Int32] = []
    private var next: [Int32] = []
    private var heap = MergeHeap<Candidate>()

    /// Appends the ids of `bytes`, merged, to `output`.
    mutating func encode(
        _ bytes: UnsafeBufferPointer<UInt8>, compiled: CompiledBPE, unknownID: Int?,
        into output: inout [Int]
    ) {
        ids.removeAll(keepingCapacity: true)
        for byte in bytes {
            let id = compiled.byteTokenIDs[Int(byte)]
            if id >= 0 {
                ids.append(UInt32(id))
            } else if let unknownID {
                ids.append(UInt32(unknownID))
            }
        }
        let count = ids.count
        guard count > 1 else {
            output.append(contentsOf: ids.lazy.map { Int($0) })
            return
        }
        previous.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        for position in 0..<count {
            previous.append(Int32(position - 1))
            next.append(position + 1 < count ? Int32(position + 1) : -1)
        }
        let merges = compiled.merges
        for position in 0..<count - 1 {
            push(position, ids[position], ids[position + 1], merges)
        }
        while let best = heap.popMin() {
            let left = Int(best.key & 0xFFFF_FFFF)
            let right = Int(next[left])
            // Dead symbols have previous == -2; a stale entry no longer makes the same token.
            guard previous[left] != -2, right >= 0,
                let rule = merges[UInt64(ids[left]) << 32 | UInt64(ids[right])],
                UInt32(truncatingIfNeeded: rule) == best.mergedID
            else { continue }
            ids[left] = best.mergedID
            let afterRight = Int(next[right])
            next[left] = Int32(afterRight)
            previous[right] = -2
            if afterRight >= 0 { previous[afterRight] = Int32(left) }
            let before = Int(previous[left])
            if before >= 0 { push(before, ids[before], ids[left], merges) }
            if afterRight >= 0 { push(left, ids[left], ids[afterRight], merges) }
        }
        var position = 0
        while position >= 0 {
            output.append(Int(ids[position]))
            position = Int(next[position])
        }
    }

    @inline(__always)
    private mutating func push(
        _ position: Int, _ left: UInt32, _ right: UInt32, _ merges: [UInt64: UInt64]
    ) {
        guard let rule = merges[UInt64(left) << 32 | UInt64(right)] else { return }
        let rank = rule >> 32
        heap.insert(Candidate(
            key: rank << 32 | UInt64(position), mergedID: UInt32(truncatingIfNeeded: rule)))
    }
}
