import LocusModel

/// Exact copies of MLP down projections taken before an edit; `restore` writes them back
/// bit for bit, so an edit is undone exactly.
public final class WeightBackup: @unchecked Sendable {
    /// layer → the (C, F) matrix before the edit.
    public let original: [Int: [Float]]

    public init(model: DecoderModel, layers: [Int]) {
        var copy: [Int: [Float]] = [:]
        for l in layers where copy[l] == nil {
            let down = model.weights.layers[l].down
            copy[l] = down.array(count: model.config.hiddenSize * model.config.intermediateSize)
        }
        original = copy
    }

    public func restore(into model: DecoderModel) {
        for (l, values) in original {
            let down = model.weights.layers[l].down
            values.withUnsafeBufferPointer { down.pointer.update(from: $0.baseAddress!, count: $0.count) }
        }
    }
}
