import LocusCore
import Foundation
import LocusInterventions
import LocusModel
import LocusTensor

/// How steering parameters act on the selected heads' outputs z[l,h] (before o_proj).
public enum SteeringParameterization: String, Codable, Sendable, CaseIterable {
    /// A trainable vector v_h per head: z[l,h] += v_h.
    case headVectors = "head-vectors"
    /// Wang & Veitch's rank-1 o_proj update per layer, right factor non-zero only on the
    /// selected heads: Δresidual = ⟨a, z⟩·Σ_h W_h b_h. Since Σ_h W_h b_h = W_o·[b_h at head h's
    /// columns], this is the edit z[l,h] += ⟨a, z_sel⟩·b_h with s = ⟨a, z_sel⟩ taken from the
    /// unedited z. Parameters per selected head: a_h and b_h (each D).
    case rankOne = "rank-one"
    /// One vector v ∈ ℝᶜ added to the residual stream leaving block L (`resid_post`, the
    /// decoder layer's output): resid_post[L] += v at the edited positions. This is BiPO's and
    /// contrastive activation addition's parameterisation: BiPO's `BlockWrapper.forward` adds
    /// `multiplier * vec` to `output[0]` of `model.layers[layer]` (CaoYuanpu/BiPO `train.py`
    /// lines 40–54 at cef1d00; the same in `model_wrapper.py` lines 56–69), and CAA's
    /// `BlockOutputWrapper.forward` adds its vector to the block output (nrimsky/CAA
    /// `llama_wrapper.py` lines 56–74 at 0825e0c). Both add at every position of the sequence
    /// (CAA at generation from the instruction's end on); here `SteeringPositions` decides,
    /// as for the per-head forms. Parameters: v (C).
    case residual
}

/// The trainable parameters of one steering edit, as one flat vector (the optimiser's view).
///
/// Layout: head-vectors — v_h for each head in `heads` order (D each); rank-one — a_h then b_h
/// for each head in `heads` order (2·D each).
public struct SteeringParameters: Codable, Equatable, Sendable {
    public var parameterization: SteeringParameterization
    /// Sorted by (layer, head). Empty for `residual`.
    public var heads: [AttentionHead]
    /// D for the per-head forms; the model width C for `residual`.
    public var headWidth: Int
    public var values: [Float]
    /// The block whose output the `residual` vector is added to (nil for the per-head forms).
    public var residualLayer: Int?

    /// A zero `residual` edit: v = 0 (C) at the output of block `layer`.
    public init(residualLayer layer: Int, width: Int) {
        parameterization = .residual
        heads = []
        headWidth = width
        residualLayer = layer
        values = Array(repeating: 0, count: width)
    }

    /// Zero edit. For rank-one, a is drawn from N(0, 1/(|S|·D)) with `seed` and b = 0, so the
    /// edit starts at exactly zero with a non-zero gradient.
    public init(
        parameterization: SteeringParameterization, heads: [AttentionHead], headWidth: Int,
        seed: UInt64
    ) {
        self.parameterization = parameterization
        self.heads = heads.sorted()
        self.headWidth = headWidth
        switch parameterization {
        case .headVectors, .residual:
            precondition(parameterization != .residual, "use init(residualLayer:width:)")
            values = Array(repeating: 0, count: heads.count * headWidth)
        case .rankOne:
            var g = SeededGenerator(seed: seed)
            let scale = 1 / Double(heads.count * headWidth).squareRoot()
            values = []
            for _ in heads {
                values += (0..<headWidth).map { _ in Float(g.nextNormal() * scale) }
                values += Array(repeating: 0, count: headWidth)
            }
        }
    }

    var stride: Int { parameterization == .rankOne ? 2 * headWidth : headWidth }

    /// The same edit with strength `factor`: head vectors v_h → f·v_h; rank-one b_h → f·b_h, so
    /// Δz = f·⟨a, z⟩·b. `scaled(by: 0)` is the unedited model; a sweep over f is the steering
    /// analogue of ITI's α.
    public func scaled(by factor: Float) -> SteeringParameters {
        var copy = self
        if parameterization == .residual {
            copy.values = values.map { $0 * factor }
            return copy
        }
        for i in heads.indices {
            let start = i * stride + (parameterization == .headVectors ? 0 : headWidth)
            for c in start..<(start + headWidth) { copy.values[c] *= factor }
        }
        return copy
    }

    /// The layers that hold selected heads, ascending.
    public var layers: [Int] {
        if let residualLayer { return [residualLayer] }
        return Array(Set(heads.map(\.layer))).sorted()
    }

    /// The site the edit acts on at layer `l`: head outputs z, or the block's output.
    func site(layer l: Int) -> ActivationSite {
        parameterization == .residual ? .residualPost(layer: l) : .headOutput(layer: l)
    }

    /// Sites whose gradient training needs.
    public var gradientSites: Set<ActivationSite> { Set(layers.map(site(layer:))) }

    /// What the edit acts on, for logs and records: `L3H1,L5H0` or `blocks.7.hook_resid_post`.
    public var target: String {
        residualLayer.map { "\(ActivationSite.residualPost(layer: $0))" } ?? heads.map(\.description).joined(separator: ",")
    }

    /// One hook per layer applying the edit at `positions`.
    public func hooks(positions: Positions) -> [SteeringHook] {
        if parameterization == .residual {
            return layers.map { SteeringHook(parameters: self, layer: $0, headIndices: [], positions: positions) }
        }
        return layers.map { l in
            let indices = heads.indices.filter { heads[$0].layer == l }
            return SteeringHook(parameters: self, layer: l, headIndices: indices, positions: positions)
        }
    }

    /// ∂loss/∂values from the site gradients of a training step run with `hooks`.
    public func gradient(from gradients: Gradients, hooks: [SteeringHook]) -> [Float] {
        var g = [Float](repeating: 0, count: values.count)
        for hook in hooks {
            guard let dz = gradients.sites[site(layer: hook.layer)] else { continue }
            hook.accumulateGradient(dz: dz, into: &g)
        }
        return g
    }

    /// The per-head displacement vectors for one position's unedited z (for inspection), or the
    /// constant vectors of the head-vector form.
    public func vector(of head: AttentionHead) -> [Float]? {
        guard let i = heads.firstIndex(of: head) else { return nil }
        return Array(values[(i * stride)..<(i * stride + headWidth)])
    }
}

/// Applies a `SteeringParameters` edit at one layer's head outputs. Keeps the unedited
/// selected-head activations of the rows it touched (rank-one needs them for its gradient).
public final class SteeringHook: DifferentiableHook {
    public let layer: Int
    let parameters: SteeringParameters
    let headIndices: [Int]
    let positions: Positions
    /// For each edited row: its packed row index, unedited z of the selected heads, and s.
    private var editedRows: [Int] = []
    private var uneditedZ: [Float] = []
    private var scales: [Float] = []
    /// Width of the site (H·D) seen in the last visit.
    private var rowWidth = 0

    public var sites: Set<ActivationSite> { [parameters.site(layer: layer)] }

    init(parameters: SteeringParameters, layer: Int, headIndices: [Int], positions: Positions) {
        self.parameters = parameters
        self.layer = layer
        self.headIndices = headIndices
        self.positions = positions
    }

    public func visit(_ batch: ActivationBatch) {
        let d = parameters.headWidth, stride = parameters.stride
        editedRows = []
        uneditedZ = []
        scales = []
        rowWidth = batch.width
        parameters.values.withUnsafeBufferPointer { theta in
            for (s, span) in batch.sequences.enumerated() {
                for r in positions.rows(of: span, sequence: s) {
                    let z = batch.values + r * batch.width
                    editedRows.append(r)
                    switch parameters.parameterization {
                    case .residual:
                        // resid_post[L] += v, (C)
                        let v = theta.baseAddress!
                        for c in 0..<d { z[c] += v[c] }
                    case .headVectors:
                        for i in headIndices {
                            let v = theta.baseAddress! + i * stride
                            let zh = z + parameters.heads[i].head * d
                            for c in 0..<d { zh[c] += v[c] }
                        }
                    case .rankOne:
                        var scale: Float = 0
                        for i in headIndices {
                            let a = theta.baseAddress! + i * stride
                            let zh = z + parameters.heads[i].head * d
                            for c in 0..<d { scale += a[c] * zh[c] }
                            uneditedZ.append(contentsOf: UnsafeBufferPointer(start: zh, count: d))
                        }
                        scales.append(scale)
                        for i in headIndices {
                            let b = theta.baseAddress! + i * stride + d
                            let zh = z + parameters.heads[i].head * d
                            for c in 0..<d { zh[c] += scale * b[c] }
                        }
                    }
                }
            }
        }
    }

    /// z′_h = z_h + s·b_h with s = Σ_k a_k·z_k, so ∂z_h = ∂z′_h + (Σ_k b_k·∂z′_k)·a_h on the
    /// edited rows; head-vector edits are shifts (identity).
    public func backpropagate(_ gradient: ActivationBatch) {
        guard parameters.parameterization == .rankOne else { return }
        let d = parameters.headWidth, stride = parameters.stride
        parameters.values.withUnsafeBufferPointer { theta in
            for r in editedRows {
                let row = gradient.values + r * gradient.width
                var ds: Float = 0
                for i in headIndices {
                    let b = theta.baseAddress! + i * stride + d
                    let g = row + parameters.heads[i].head * d
                    for c in 0..<d { ds += b[c] * g[c] }
                }
                for i in headIndices {
                    let a = theta.baseAddress! + i * stride
                    let g = row + parameters.heads[i].head * d
                    for c in 0..<d { g[c] += ds * a[c] }
                }
            }
        }
    }

    /// Adds this layer's share of ∂loss/∂θ given dz = ∂loss/∂z′ (edited z), (N, H·D):
    /// head-vectors: ∂v_h = Σ_rows dz′[h];  rank-one: ∂b_h = Σ_rows s·dz′[h],
    /// ∂a_h = Σ_rows (Σ_k b_k·dz′[k])·z[h].
    func accumulateGradient(dz: [Float], into g: inout [Float]) {
        let d = parameters.headWidth, stride = parameters.stride
        for (k, r) in editedRows.enumerated() {
            let dzRow = r * rowWidth
            switch parameters.parameterization {
            case .residual:
                // ∂v = Σ_rows ∂resid_post′ (the edit is a shift)
                for c in 0..<d { g[c] += dz[dzRow + c] }
            case .headVectors:
                for i in headIndices {
                    let h = parameters.heads[i].head
                    for c in 0..<d { g[i * stride + c] += dz[dzRow + h * d + c] }
                }
            case .rankOne:
                var ds: Float = 0
                for i in headIndices {
                    let h = parameters.heads[i].head
                    for c in 0..<d {
                        ds += parameters.values[i * stride + d + c] * dz[dzRow + h * d + c]
                        g[i * stride + d + c] += scales[k] * dz[dzRow + h * d + c]
                    }
                }
                for (j, i) in headIndices.enumerated() {
                    let z = (k * headIndices.count + j) * d
                    for c in 0..<d { g[i * stride + c] += ds * uneditedZ[z + c] }
                }
            }
        }
    }
}
