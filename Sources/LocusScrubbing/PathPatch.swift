import LocusCore
import LocusInterventions
import LocusModel

/// Which input of a receiving attention head a path patch changes.
public enum HeadInput: String, Codable, Sendable, CaseIterable {
    case query, key, value
}

/// One receiver of a path patch: an input of head B. For keys and values, grouped-query attention
/// shares one KV head among H/G query heads: the patch acts on KV head g = h / (H/G) (SmolLM2:
/// 9 query heads, 3 KV heads, g = h/3), so it reaches every query head of that group.
public struct PathReceiver: Hashable, Codable, Sendable, CustomStringConvertible {
    public var head: AttentionHead
    public var input: HeadInput

    public init(head: AttentionHead, input: HeadInput) {
        self.head = head
        self.input = input
    }

    public var description: String { "\(head).\(input.rawValue.prefix(1))" }
}

/// Path patching: head A's output is replaced by its value on another input, *only along the
/// paths into chosen inputs (q, k or v) of downstream heads B*; every other reader of the
/// residual stream (the skip connection, MLPs, other heads, the unembedding) still sees A's
/// original output.
///
/// With A = (l_A, h_A), o_proj weight W_o (C, H·D) and W_{o,A} its columns h_A·D..<(h_A+1)·D,
/// z_A the run's own head output and z_A′ the source sequence's (aligned position by position):
///
///     Δ = W_{o,A} · (z_A′ − z_A)                                   (T, C)
///     q_B ← norm(x_B + Δ) · W_{q,B}ᵀ (+ b_{q,B})   (likewise k, v with KV head g = h_B / (H/G))
///
/// where x_B is the residual entering B's layer (`.residualPre(layer: l_B)`), the norm is the
/// family's attention-input norm (RMSNorm, or LayerNorm with bias: `normalizeAttentionInput`),
/// and W_{q,B} are the rows h_B·D..<(h_B+1)·D of the fused qkv weight (W_k, W_v rows follow at
/// H·D + g·D and H·D + G·D + g·D), plus their bias where the family has one (GPT-2, Qwen2).
/// q and k are patched before RoPE and before Gemma's per-head q/k norms (the sites
/// `.queries`/`.keys` sit there), so those then act on the patched vectors exactly as on
/// unpatched ones. Where the attention output is not linear in z (Gemma-3's post-attention
/// norm), Δ = post_norm(W_o z̃ + b) − post_norm(W_o z + b) with z̃ = z with head A's columns
/// replaced by z_A′ (`DecoderModel.attentionOutput`). A parallel block (GPT-J) reads the same
/// normalised resid_pre, so nothing changes there. This is exact: it is what B would compute if
/// only its input saw A′.
///
/// `sources[s]` is the batch index of the sequence supplying z_A′ for sequence s (`nil`: s is
/// not patched). Sequences must start at position 0 (no KV cache).
public final class PathPatch: ActivationHook {
    public let sender: AttentionHead
    public let receivers: [PathReceiver]
    public let sources: [Int?]
    public let alignment: PositionAlignment
    public let sites: Set<ActivationSite>
    let config: ModelConfig
    let model: DecoderModel
    /// Per target sequence, Δ rows (rowCount, C); per receiver layer, the residual rows (N, C).
    var deltas: [Int: [Float]] = [:]
    var residuals: [Int: [Float]] = [:]

    public init(
        model: DecoderModel, sender: AttentionHead, receivers: [PathReceiver], sources: [Int?],
        alignment: PositionAlignment = .start
    ) {
        precondition(receivers.allSatisfy { $0.head.layer > sender.layer }, "receivers must be downstream")
        self.sender = sender
        self.receivers = receivers
        self.sources = sources
        self.alignment = alignment
        config = model.config
        self.model = model
        var sites: Set<ActivationSite> = [.headOutput(layer: sender.layer)]
        for r in receivers {
            let l = r.head.layer
            sites.insert(.residualPre(layer: l))
            switch r.input {
            case .query: sites.insert(.queries(layer: l))
            case .key: sites.insert(.keys(layer: l))
            case .value: sites.insert(.values(layer: l))
            }
        }
        self.sites = sites
    }

    /// The KV head of query head h.
    public static func keyValueHead(of h: Int, config: ModelConfig) -> Int {
        h / (config.headCount / config.keyValueHeadCount)
    }

    public func visit(_ batch: ActivationBatch) {
        switch batch.site {
        case .headOutput: computeDeltas(batch)
        case .residualPre(let l):
            residuals[l] = Array(UnsafeBufferPointer(start: batch.values, count: batch.rowCount * batch.width))
        case .queries(let l): patch(batch, layer: l, input: .query)
        case .keys(let l): patch(batch, layer: l, input: .key)
        case .values(let l): patch(batch, layer: l, input: .value)
        default: break
        }
    }

    func computeDeltas(_ batch: ActivationBatch) {
        let c = config.hiddenSize, d = config.headWidth, hd = config.attentionWidth
        let col = sender.head * d
        let linear = model.attentionOutputIsLinear(layer: sender.layer)
        // Linear families: W_{o,A} (C, D) read once; otherwise whole rows are recomputed.
        let wo = linear ? model.weights.layers[sender.layer].attentionOutputProjection.materializeFloat32() : nil
        deltas = [:]
        var diff = [Float](repeating: 0, count: d)
        for (s, span) in batch.sequences.enumerated() {
            guard s < sources.count, let j = sources[s] else { continue }
            let source = batch.sequences[j]
            precondition(span.firstPosition == 0 && source.firstPosition == 0, "whole sequences only")
            var delta = [Float](repeating: 0, count: span.rowCount * c)  // (T, C)
            for p in 0..<span.rowCount {
                let q = alignment.sourcePosition(p, targetLength: span.rowCount, sourceLength: source.rowCount)
                let z = batch.values + (span.rowStart + p) * hd + col
                let z2 = batch.values + (source.rowStart + q) * hd + col
                if let wo {
                    for i in 0..<d { diff[i] = z2[i] - z[i] }
                    for o in 0..<c {
                        let w = wo.pointer + o * hd + col
                        var acc: Float = 0
                        for i in 0..<d { acc += w[i] * diff[i] }
                        delta[p * c + o] = acc
                    }
                } else {
                    // [z; z̃] → [out; out′], Δ = out′ − out.
                    var rows = [Float](repeating: 0, count: 2 * hd)  // (2, H·D)
                    let zRow = batch.values + (span.rowStart + p) * hd
                    for i in 0..<hd { rows[i] = zRow[i]; rows[hd + i] = zRow[i] }
                    for i in 0..<d { rows[hd + col + i] = z2[i] }
                    var out = [Float](repeating: 0, count: 2 * c)  // (2, C)
                    rows.withUnsafeBufferPointer { zp in
                        out.withUnsafeMutableBufferPointer { op in
                            model.attentionOutput(
                                layer: sender.layer, heads: zp.baseAddress!, rows: 2, into: op.baseAddress!)
                        }
                    }
                    for o in 0..<c { delta[p * c + o] = out[c + o] - out[o] }
                }
            }
            deltas[s] = delta
        }
    }

    func patch(_ batch: ActivationBatch, layer l: Int, input: HeadInput) {
        guard let x = residuals[l] else { return }
        let c = config.hiddenSize, d = config.headWidth
        let hd = config.attentionWidth, kvw = config.keyValueWidth
        var blocks: [(rowOffset: Int, column: Int)] = []  // rows of the qkv weight, columns of the site
        for r in receivers where r.head.layer == l && r.input == input {
            let block: (Int, Int)
            switch input {
            case .query: block = (r.head.head * d, r.head.head * d)
            case .key:
                let g = Self.keyValueHead(of: r.head.head, config: config)
                block = (hd + g * d, g * d)
            case .value:
                let g = Self.keyValueHead(of: r.head.head, config: config)
                block = (hd + kvw + g * d, g * d)
            }
            if !blocks.contains(where: { $0 == block }) { blocks.append(block) }
        }
        var y = [Float](repeating: 0, count: c)  // (C)
        for (s, span) in batch.sequences.enumerated() {
            guard let delta = deltas[s] else { continue }
            for p in 0..<span.rowCount {
                let row = span.rowStart + p
                for i in 0..<c { y[i] = x[row * c + i] + delta[p * c + i] }
                y.withUnsafeMutableBufferPointer { yp in
                    model.normalizeAttentionInput(layer: l, yp.baseAddress!, rows: 1, into: yp.baseAddress!)
                    for (rowOffset, column) in blocks {
                        model.projectQueryKeyValue(
                            layer: l, rowRange: rowOffset..<rowOffset + d, yp.baseAddress!, rows: 1,
                            into: batch.values + row * batch.width + column, outStride: batch.width)
                    }
                }
            }
        }
    }
}
