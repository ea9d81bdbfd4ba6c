import LocusTensor

/// Keys and values of every layer for a fixed set of sequences, so that generation and
/// continuation scoring compute each prefix once.
///
/// Storage: for each layer l and sequence s, `capacity` rows of (G·D) keys and as many values.
/// Keys are stored after RoPE.
///
/// A cache whose keys and values are only needed within one forward call (a stateless prefill,
/// the answers of a multiple-choice question whose logits are all taken in that call) can keep a
/// single layer's rows, overwritten by every layer (`Storage.oneLayer`): L times less memory,
/// which on a 7B model is the difference between 1 MB and 32 KB per position per sequence. Its
/// earlier positions then come from a prefix source (`continue(_:sequence:at:)`), copied layer
/// by layer as the forward reaches each layer, instead of one copy of the whole prompt per
/// sequence for every layer.
public final class KVCache: @unchecked Sendable {
    /// Which layers' rows the cache keeps.
    public enum Storage: Sendable {
        /// Every layer's rows: the cache can be continued by later forward calls.
        case everyLayer
        /// One layer's rows, reused by every layer: valid only within one forward call, so it
        /// cannot be continued by a later call nor be a prefix source.
        case oneLayer
    }

    public let layerCount: Int
    public let sequenceCount: Int
    public let capacity: Int
    public let rowWidth: Int  // G·D
    /// Tokens already cached per sequence.
    public internal(set) var lengths: [Int]
    /// For a sequence that continues another sequence of the same batch (its rows
    /// `0..<firstPosition` are that sequence's, computed in the same pass): the index of that
    /// sequence. Each block copies the source's keys and values of its layer before the
    /// continuing sequence attends (`DecoderModel.forwardForTraining(continuing:)`); cleared by
    /// `reset()`.
    var continuations: [Int: Int] = [:]
    /// For a sequence whose first positions are another cache's (`continue(_:sequence:at:)`):
    /// that cache and sequence. Each block copies the source's rows of its layer before the
    /// sequence attends; cleared by `reset()`.
    var prefixSources: [Int: (cache: KVCache, sequence: Int)] = [:]
    public let storage: Storage
    let keys: FloatBuffer  // (L or 1, S, capacity, G·D)
    let values: FloatBuffer  // (L or 1, S, capacity, G·D)

    public init(config: ModelConfig, sequences: Int, capacity: Int, storage: Storage = .everyLayer) {
        layerCount = config.layerCount
        sequenceCount = sequences
        self.capacity = capacity
        self.storage = storage
        rowWidth = config.keyValueWidth
        lengths = Array(repeating: 0, count: sequences)
        let count = (storage == .everyLayer ? layerCount : 1) * sequences * capacity * rowWidth
        keys = FloatBuffer(count: count)
        values = FloatBuffer(count: count)
    }

    /// Bytes of keys and values a cache of this geometry holds (both fp32).
    public static func bytes(config: ModelConfig, sequences: Int, capacity: Int, storage: Storage = .everyLayer) -> Int {
        (storage == .everyLayer ? config.layerCount : 1) * sequences * capacity * config.keyValueWidth
            * 2 * MemoryLayout<Float>.size
    }

    /// Whether this cache has the same geometry and can be reused for `sequences`/`capacity`.
    func fits(sequences: Int, capacity needed: Int, config: ModelConfig, storage: Storage = .everyLayer) -> Bool {
        sequenceCount == sequences && capacity >= needed && layerCount == config.layerCount
            && rowWidth == config.keyValueWidth && self.storage == storage
    }

    func offset(layer: Int, sequence: Int) -> Int {
        (((storage == .everyLayer ? layer : 0) * sequenceCount) + sequence) * capacity * rowWidth
    }

    /// (capacity, G·D) keys of one layer and sequence.
    func keys(layer: Int, sequence: Int) -> UnsafeMutablePointer<Float> {
        keys.pointer + offset(layer: layer, sequence: sequence)
    }

    func values(layer: Int, sequence: Int) -> UnsafeMutablePointer<Float> {
        values.pointer + offset(layer: layer, sequence: sequence)
    }

    /// Forgets every cached token.
    public func reset() {
        lengths = Array(repeating: 0, count: sequenceCount)
        continuations = [:]
        prefixSources = [:]
    }

    /// Forgets the tokens of `sequence` after its first `length` (e.g. back to a shared prompt,
    /// to compute the next continuation in the same rows).
    public func truncate(sequence: Int, to length: Int) {
        precondition(storage == .everyLayer, "a one-layer cache keeps nothing between calls")
        precondition(length >= 0 && length <= lengths[sequence], "cannot truncate to \(length) of \(lengths[sequence]) tokens")
        lengths[sequence] = length
    }

    /// Makes sequence `target` continue `source`'s sequence `sourceSequence` without copying it
    /// now: the next forward call copies the source's rows into `target`, layer by layer, just
    /// before they are attended to (so a one-layer cache needs room for one layer only). The
    /// source must keep every layer and must not change before that call.
    public func `continue`(_ source: KVCache, sequence sourceSequence: Int, at target: Int) {
        precondition(source.storage == .everyLayer, "a one-layer cache cannot be a prefix source")
        precondition(source.rowWidth == rowWidth && source.layerCount == layerCount)
        let n = source.lengths[sourceSequence]
        precondition(n <= capacity, "prefix of \(n) tokens exceeds cache capacity \(capacity)")
        prefixSources[target] = (source, sourceSequence)
        lengths[target] = n
    }

    /// Makes sequence `target` hold a copy of `source`'s sequence `sourceSequence` (all layers),
    /// e.g. to score several continuations of one prompt after computing the prompt once.
    public func copyPrefix(from source: KVCache, sequence sourceSequence: Int, to target: Int) {
        precondition(source.rowWidth == rowWidth && source.layerCount == layerCount)
        precondition(
            source.storage == .everyLayer && storage == .everyLayer,
            "copyPrefix needs caches of every layer; use continue(_:sequence:at:) for a one-layer cache")
        let n = source.lengths[sourceSequence]
        precondition(n <= capacity, "prefix of \(n) tokens exceeds cache capacity \(capacity)")
        for l in 0..<layerCount {
            keys(layer: l, sequence: target).update(
                from: source.keys(layer: l, sequence: sourceSequence), count: n * rowWidth)
            values(layer: l, sequence: target).update(
                from: source.values(layer: l, sequence: sourceSequence), count: n * rowWidth)
        }
        lengths[target] = n
    }
}
