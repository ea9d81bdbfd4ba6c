import Foundation

/// Thread-safe memo of piece bytes → ids. Text repeats its words, so most pieces are looked up
/// rather than merged. Insertion stops at `capacity` entries (as Hugging Face's BPE cache does)
/// so memory stays bounded on long inputs.
final class PieceCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [[UInt8]: [Int32]] = [:]
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func ids(for piece: [UInt8]) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return entries[piece]
    }

    func store(_ ids: [Int32], for piece: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        if entries.count < capacity { entries[piece] = ids }
    }
}
