/// An element of a `MergeHeap`: ordered by a 64-bit key, smallest first.
protocol MergeHeapElement {
    /// rank << 32 | position: smaller ranks first, then further left.
    var key: UInt64 { get }
}

/// The binary min-heap that both mergers (`BPEMerger`, `SentencePieceMerger`) pop their best
/// adjacent pair from. Storage is kept between pieces (`removeAll(keepingCapacity:)`).
struct MergeHeap<Element: MergeHeapElement> {
    private var storage: [Element] = []

    mutating func removeAll(keepingCapacity: Bool) {
        storage.removeAll(keepingCapacity: keepingCapacity)
    }

    /// Appends `element` and sifts it up.
    mutating func insert(_ element: Element) {
        storage.append(element)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard storage[child].key < storage[parent].key else { break }
            storage.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the element with the smallest key, or nil when empty.
    mutating func popMin() -> Element? {
        guard let last = storage.popLast() else { return nil }
        guard !storage.isEmpty else { return last }
        let top = storage[0]
        storage[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < storage.count else { break }
            let right = left + 1
            let child = right < storage.count && storage[right].key < storage[left].key ? right : left
            guard storage[child].key < storage[parent].key else { break }
            storage.swapAt(child, parent)
            parent = child
        }
        return top
    }
}
