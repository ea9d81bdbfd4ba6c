import LocusModel

/// Exact copies of MLP output projections (`LayerWeights.mlpOutputProjection`, (C, F) in
/// (out, in) layout in every family: GPT-2's Conv1D `c_proj` is transposed at load) taken
/// before an edit; `restore` writes them back bit for bit, so an edit is undone exactly.
public final class WeightBackup: @unchecked Sendable {
    /// layer → the (C, F) matrix before the edit.
    public let original: [Int: [Float]]

    public init(model: DecoderModel, layers: [Int]) {
        var copy: [Int: [Float]] = [:]
        for l in layers where copy[l] == nil {
            let projection = model.weights.layers[l].mlpOutputProjection.makeDense()  // (C, F)
            copy[l] = projection.array(count: model.config.hiddenSize * model.config.intermediateSize)
        }
        original = copy
    }

    public func restore(into model: DecoderModel) {
        for (l, values) in original {
            let projection = model.weights.layers[l].mlpOutputProjection.makeDense()  // (C, F)
            values.withUnsafeBufferPointer { projection.pointer.update(from: $0.baseAddress!, count: $0.count) }
        }
    }
}
