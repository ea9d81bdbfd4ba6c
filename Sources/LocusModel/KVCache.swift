import LocusTensor

/// Keys and values of every layer for a fixed set of sequences, so that generation and
/// continuation scoring compute each prefix once.
///
/// Storage: for each layer l and sequence s, `capacity` rows of (G·D) keys and as many values.
/// Keys are stored after RoPE.
public final class KVCache: @unchecked Sendable {
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
    let keys: FloatBuffer  // (L, S, capacity, G·D)
    let values: FloatBuffer  // (L, S, capacity, G·D)

    public init(config: ModelConfig, sequences: Int, capacity: Int) {
        layerCount = config.layerCount
        sequenceCount = sequences
        self.capacity = capacity
        rowWidth = config.keyValueWidth
        lengths = Array(repeating: 0, count: sequences)
        let count = layerCount * sequences * capacity * rowWidth
        keys = FloatBuffer(count: count)
        values = FloatBuffer(count: count)
    }

    /// Whether this cache has the same geometry and can be reused for `sequences`/`capacity`.
    func fits(sequences: Int, capacity needed: Int, config: ModelConfig) -> Bool {
        sequenceCount == sequences && capacity >= needed && layerCount == config.layerCount
            && rowWidth == config.keyValueWidth
    }

    func offset(layer: Int, sequence: Int) -> Int {
        ((layer * sequenceCount) + sequence) * capacity * rowWidth
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
    }

    /// Makes sequence `target` hold a copy of `source`'s sequence `sourceSequence` (all layers),
    /// e.g. to score several continuations of one prompt after computing the prompt once.
    public func copyPrefix(from source: KVCache, sequence sourceSequence: Int, to target: Int) {
        precondition(source.rowWidth == rowWidth && source.layerCount == layerCount)
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
