import LocusCore
import Foundation
import LocusInterventions
import LocusModel

/// The ITI edit baked into weights: an o_proj bias per touched layer,
///
///     b[l] = W_o[l] · d[l],   d[l] = concat_h (α σ θ on selected heads, 0 elsewhere)   (C)
///
/// because o_proj(z + d) = W_o z + W_o d. (The reference code forgets the projection through
/// W_o.) `bake(into:)` adds b to the attention output projection's bias
/// (`LayerWeights.attentionOutputBias()`): GPT-2's existing `c_proj` bias is added to, a family
/// without one (llama, GPT-J, Qwen2, Gemma-3) gets one created; the returned backup's `restore` puts back the exact prior
/// state. `hook(positions:)` instead adds b at `.attentionOut(layer:)`, which equals the bias
/// only where nothing follows the projection (not Gemma-3's post-attention norm: bake there).
/// Exported as JSON it can be loaded as `o_proj.bias` into a model that has one.
public struct AttentionOutputBias: Codable, Equatable, Sendable {
    public struct Layer: Codable, Equatable, Sendable {
        public var layer: Int
        /// (C)
        public var bias: [Float]
    }

    public var format: String = "locus.o-proj-bias/1"
    public var layers: [Layer]

    public init(layers: [Layer]) { self.layers = layers }

    /// Projects each touched layer's head displacement through that layer's o_proj.
    public init(edit: ITIEdit, model: DecoderModel) {
        let config = model.config
        let c = config.hiddenSize, hd = config.attentionWidth
        layers = edit.layers.map { l in
            let d = edit.layerDisplacement(l, headCount: config.headCount)  // (H·D)
            // A temporary fp32 copy: the model's o_proj stays in its stored type.
            let projection = model.weights.layers[l].attentionOutputProjection.materializeFloat32()
            let w = projection.pointer  // (C, H·D)
            var b = [Float](repeating: 0, count: c)  // (C)
            for o in 0..<c {
                var s = 0.0
                for j in 0..<hd where d[j] != 0 { s += Double(w[o * hd + j]) * Double(d[j]) }
                b[o] = Float(s)
            }
            return Layer(layer: l, bias: b)
        }
    }

    /// Adds each layer's b to its attention output projection's bias (created where the family
    /// has none), at every position as a bias acts. Returns what undoes it exactly.
    public func bake(into model: DecoderModel) -> AttentionOutputBiasBackup {
        let c = model.config.hiddenSize
        var saved: [Int: [Float]?] = [:]
        for entry in layers {
            precondition(entry.bias.count == c, "bias width \(entry.bias.count) ≠ model width \(c)")
            let layer = model.weights.layers[entry.layer]
            if saved[entry.layer] == nil { saved[entry.layer] = .some(layer.attentionOutputBiasSnapshot()) }
            let b = layer.attentionOutputBias().pointer  // (C)
            for o in 0..<c { b[o] += entry.bias[o] }
        }
        return AttentionOutputBiasBackup(original: saved)
    }

    public func hook(positions: Positions) -> AttentionOutputBiasHook {
        AttentionOutputBiasHook(bias: self, positions: positions)
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: url)
    }
}

/// Adds a constant vector to `.attentionOut(layer:)` at the chosen positions: a bias on o_proj.
public final class AttentionOutputBiasHook: ActivationHook {
    public let sites: Set<ActivationSite>
    public let positions: Positions
    private let biases: [Int: [Float]]

    public init(bias: AttentionOutputBias, positions: Positions) {
        var byLayer: [Int: [Float]] = [:]
        for layer in bias.layers { byLayer[layer.layer] = layer.bias }
        biases = byLayer
        sites = Set(byLayer.keys.map { ActivationSite.attentionOut(layer: $0) })
        self.positions = positions
    }

    public func visit(_ batch: ActivationBatch) {
        guard let b = biases[batch.site.layer] else { return }
        precondition(b.count == batch.width, "bias width \(b.count) ≠ site width \(batch.width)")
        for (s, span) in batch.sequences.enumerated() {
            for r in positions.rows(of: span, sequence: s) {
                let row = batch.values + r * batch.width
                for j in 0..<b.count { row[j] += b[j] }
            }
        }
    }
}

/// The attention output biases of the layers a `bake` touched, as they were: values bit for bit,
/// or none (the bake created the bias; `restore` removes it again).
public struct AttentionOutputBiasBackup: Sendable {
    /// layer → the bias before the bake (nil: the layer had none).
    public let original: [Int: [Float]?]

    public func restore(into model: DecoderModel) {
        for (l, values) in original { model.weights.layers[l].restoreAttentionOutputBias(values) }
    }
}
