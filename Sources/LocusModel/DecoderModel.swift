import Foundation
import LocusCheckpoint
import LocusTensor
import LocusWeights

/// A decoder of any registered family over packed batches of variable-length sequences: one
/// block function, generalised by `config.architecture` (llama: RMSNorm, RoPE, grouped-query
/// attention, SwiGLU; the other families' variants are documented on `Architecture`). Every
/// family has the same sites (`ActivationSite`); a parallel block (GPT-J) has no `resid_mid`.
///
/// (The neutral name is `DecoderModel`; `DecoderModel` stays the type's name until the lead's
/// rename, so other modules need no edit.)
///
/// Not thread-safe: one forward call at a time (work buffers are reused between calls).
public final class DecoderModel: @unchecked Sendable {
    public let config: ModelConfig
    public let weights: ModelWeights
    /// RoPE angles of the global layers, and of the sliding-window ones when their base differs.
    let rope: RoPETable
    let localRope: RoPETable?
    let work = Workspace()

    public init(config: ModelConfig, weights: ModelWeights) {
        self.config = config
        self.weights = weights
        let d = config.headWidth, rotary = config.architecture.rotaryWidth
        rope = RoPETable(headWidth: d, base: config.ropeBase, rotaryWidth: rotary)
        localRope = config.architecture.localRopeBase.map {
            RoPETable(headWidth: d, base: $0, rotaryWidth: rotary)
        }
    }

    /// The family of this model.
    public var family: ModelFamily { config.family }

    /// The RoPE table of layer `l`.
    func rope(layer l: Int) -> RoPETable {
        if let localRope, config.architecture.slidingLayers.contains(l) { return localRope }
        return rope
    }

    /// The attention geometry of layer `l`: its score scale and, in a sliding-window layer,
    /// its window.
    func attentionShape(layer l: Int) -> AttentionShape {
        let arch = config.architecture
        return AttentionShape(
            queryHeads: config.headCount, keyValueHeads: config.keyValueHeadCount,
            headWidth: config.headWidth, scale: arch.attentionScale,
            window: arch.slidingLayers.contains(l) ? arch.slidingWindow : nil)
    }

    /// Refuses hooks at sites this family's block does not have (a parallel block's
    /// `resid_mid`) and at layers it does not have.
    func checkSites(_ sites: some Sequence<ActivationSite>) throws {
        for site in sites {
            guard site.layer >= 0, site.layer < config.layerCount else {
                throw ModelError.siteUnavailable(
                    site: site.description,
                    reason: "the model has \(config.layerCount) layers")
            }
            if case .residualMid = site, !config.architecture.hasResidualMid {
                throw ModelError.siteUnavailable(
                    site: site.description,
                    reason: "\(config.family.displayName) blocks are parallel (attention and MLP read"
                        + " the same input), so there is no residual stream between them")
            }
        }
    }

    /// Normalises `rows` rows of width C with the family's norm (RMSNorm, or LayerNorm with
    /// bias), keeping r (or 1/σ) and μ for the backward pass when asked.
    @inline(__always)
    func normalize(
        _ x: UnsafePointer<Float>, weight: FloatBuffer, bias: FloatBuffer?, rows: Int,
        into y: UnsafeMutablePointer<Float>, inverse: UnsafeMutablePointer<Float>? = nil,
        mean: UnsafeMutablePointer<Float>? = nil
    ) {
        switch config.architecture.norm {
        case .rms:
            RMSNorm.forward(
                x, weight: weight.pointer, rows: rows, width: config.hiddenSize,
                epsilon: config.rmsNormEpsilon, into: y, inverseRMS: inverse)
        case .layerNorm:
            LayerNorm.forward(
                x, weight: weight.pointer, bias: bias.map { UnsafePointer($0.pointer) }, rows: rows,
                width: config.hiddenSize, epsilon: config.rmsNormEpsilon, into: y, mean: mean,
                inverseStd: inverse)
        }
    }

    /// Gemma-3's sandwich post-norm of a branch output y (N, C), in place: y ← RMSNorm(y) with
    /// `weight`, keeping the raw y and 1/rms per row where a tape asks for them (the backward's
    /// `postNormBackward`). No weight (every other family): y is left as it is.
    func postNormalize(
        _ y: UnsafeMutablePointer<Float>, weight: FloatBuffer?, rows n: Int,
        raw: UnsafeMutablePointer<Float>?, inverseRMS: UnsafeMutablePointer<Float>?
    ) {
        guard let weight else { return }
        let c = config.hiddenSize
        raw?.update(from: y, count: n * c)
        RMSNorm.forward(
            y, weight: weight.pointer, rows: n, width: c, epsilon: config.rmsNormEpsilon,
            into: y, inverseRMS: inverseRMS)
    }

    /// y[r] += b for each of `rows` rows of width `width`.
    @inline(__always)
    func addBias(_ b: FloatBuffer?, rows: Int, width: Int, into y: UnsafeMutablePointer<Float>) {
        guard let b else { return }
        Bias.add(b.pointer, rows: rows, width: width, to: y)
    }

    /// Runs the model on new tokens of each sequence.
    ///
    /// - Parameters:
    ///   - tokens: one id list per sequence (the new tokens; lengths may differ).
    ///   - cache: the sequences' KV cache; new keys/values are appended to it. Without one, each
    ///     sequence starts at position 0 and a scratch cache of one layer's rows is used.
    ///   - hooks: called at their sites, in order.
    ///   - rows: which positions get logits (the `logits:` argument).
    public func forward(
        _ tokens: [[Int]], cache: KVCache? = nil, hooks: [ActivationHook] = [],
        logits rows: Logits.Rows = .last
    ) throws -> Logits {
        let spans = try plan(tokens, cache: cache)
        try checkSites(hooks.flatMap(\.sites))
        let n = spans.last.map { $0.rowStart + $0.rowCount } ?? 0
        let longest = spans.map { $0.firstPosition + $0.rowCount }.max() ?? 0
        // Without a cache, keys and values are needed only within their layer: one layer's rows.
        let kv = cache ?? work.scratchCache(
            config: config, sequences: tokens.count, capacity: longest, storage: .oneLayer)
        if cache == nil { kv.reset() }
        work.reserve(rows: n, longest: longest, config: config)
        run(tokens, spans: spans, cache: kv, hooks: hooks, tape: nil)
        if kv.storage == .oneLayer { kv.reset() }  // its rows are the last layer's: unusable later
        let logits = unembed(rows: rows, spans: spans, totalRows: n)
        try logits.checkFinite()
        return logits
    }

    /// Embeds the tokens into `work.residual` and runs every block; with a tape, each block's
    /// activations are kept for the backward pass.
    func run(
        _ tokens: [[Int]], spans: [SequenceSpan], cache: KVCache, hooks: [ActivationHook],
        tape: ForwardTape?
    ) {
        let c = config.hiddenSize
        let n = spans.last.map { $0.rowStart + $0.rowCount } ?? 0
        let positions = spans.map { $0.firstPosition + $0.rowCount }.max() ?? 0
        rope.reserve(positions: positions)
        localRope?.reserve(positions: positions)
        let x = work.residual.pointer  // (N, C)
        let scale = config.architecture.embeddingScale
        for (s, ids) in tokens.enumerated() {
            for (i, id) in ids.enumerated() {
                let row = x + (spans[s].rowStart + i) * c  // (C)
                weights.embeddingMatrix.readRows(id..<id + 1, into: row)
                if let scale { for j in 0..<c { row[j] *= scale } }
                if let table = weights.positionEmbedding {
                    let p = table.pointer + (spans[s].firstPosition + i) * c  // (C)
                    for j in 0..<c { row[j] += p[j] }
                }
            }
        }
        let dispatch = HookDispatch(hooks: hooks, spans: spans, config: config)
        for l in 0..<config.layerCount {
            dispatch.visit(.residualPre(layer: l), x)
            let buffers = tape?.layers[l].buffers ?? work.layerBuffers
            block(l, rows: n, spans: spans, cache: cache, hooks: dispatch, buffers: buffers)
            dispatch.visit(.residualPost(layer: l), x)
        }
        for s in 0..<spans.count { cache.lengths[s] = spans[s].firstPosition + spans[s].rowCount }
    }

    /// Checks the batch and lays the sequences out as packed rows.
    func plan(_ tokens: [[Int]], cache: KVCache?) throws -> [SequenceSpan] {
        guard !tokens.isEmpty else { throw ModelError.emptyBatch }
        if let cache, cache.sequenceCount != tokens.count {
            throw ModelError.cacheMismatch(
                "\(tokens.count) sequences but the cache holds \(cache.sequenceCount)")
        }
        var spans: [SequenceSpan] = []
        var row = 0
        for (s, ids) in tokens.enumerated() {
            guard !ids.isEmpty else { throw ModelError.emptySequence(index: s) }
            if let bad = ids.first(where: { $0 < 0 || $0 >= config.vocabularySize }) {
                throw ModelError.tokenOutOfRange(token: bad, vocabularySize: config.vocabularySize)
            }
            let past = cache?.lengths[s] ?? 0
            if let cache, cache.storage == .oneLayer, past > 0, cache.prefixSources[s] == nil {
                throw ModelError.cacheMismatch(
                    "sequence \(s) continues \(past) cached tokens, but a one-layer cache keeps no rows between calls (give it a prefix source with continue(_:sequence:at:))")
            }
            let end = past + ids.count
            guard end <= config.contextLength else {
                throw ModelError.contextExceeded(tokens: end, contextLength: config.contextLength)
            }
            if let cache, end > cache.capacity {
                throw ModelError.cacheTooSmall(needed: end, capacity: cache.capacity)
            }
            spans.append(SequenceSpan(rowStart: row, rowCount: ids.count, firstPosition: past))
            row += ids.count
        }
        return spans
    }

    /// One decoder block, in place on the residual stream `work.residual`:
    ///
    ///     sequential:  x₁ = x₀ + A(norm₁(x₀)),   x₂ = x₁ + M(norm₂(x₁))
    ///     parallel:    x₂ = x₀ + A(norm₁(x₀)) + M(norm₁(x₀))                     (GPT-J)
    ///     A(u) = [postnorm](o_proj(attn(rope(qknorm(W_qkv·u + b)))) + b_o)   (attn: scale α,
    ///            causal or sliding window)
    ///     M(u) = [postnorm](down(act(W_up·u + b_up)) + b_down)
    ///
    /// with brackets for the parts only some families have (`Architecture`).
    func block(
        _ l: Int, rows n: Int, spans: [SequenceSpan], cache: KVCache, hooks: HookDispatch,
        buffers b: LayerBuffers
    ) {
        let w = weights.layers[l]
        let arch = config.architecture
        let c = config.hiddenSize, f = config.intermediateSize, d = config.headWidth
        let hd = config.attentionWidth, kvw = config.keyValueWidth
        let qkvWidth = hd + 2 * kvw
        let x = work.residual.pointer  // (N, C)
        let normed = b.normedAttention  // (N, C)
        let qkv = b.qkv  // (N, H·D + 2·G·D)
        let z = b.heads  // (N, H·D)
        let out = work.projected.pointer  // (N, C)

        // Attention: x + A(norm(x))
        b.input?.update(from: x, count: n * c)
        normalize(
            x, weight: w.attentionNorm, bias: w.attentionNormBias, rows: n, into: normed,
            inverse: b.attentionInverseRMS, mean: b.attentionMean)
        w.qkvMatrix.multiply(normed, rows: n, into: qkv)
        addBias(w.qkvBias, rows: n, width: qkvWidth, into: qkv)
        for (site, offset) in [
            (ActivationSite.queries(layer: l), 0), (.keys(layer: l), hd), (.values(layer: l), hd + kvw),
        ] {
            hooks.visit(site, qkv, rowStride: qkvWidth, offset: offset, rows: n, scratch: work.siteScratch)
        }
        if let qn = w.queryNorm, let kn = w.keyNorm {
            // Per-head RMSNorm of Q and K (Gemma-3), kept for the backward pass when training.
            let heads = config.headCount + config.keyValueHeadCount
            for r in 0..<n {
                let row = qkv + r * qkvWidth
                b.preNormQK?.advanced(by: r * (hd + kvw)).update(from: row, count: hd + kvw)
                let inverse = b.qkInverseRMS.map { $0 + r * heads }
                RMSNorm.forward(
                    row, weight: qn.pointer, rows: config.headCount, width: d,
                    epsilon: config.rmsNormEpsilon, into: row, inverseRMS: inverse)
                RMSNorm.forward(
                    row + hd, weight: kn.pointer, rows: config.keyValueHeadCount, width: d,
                    epsilon: config.rmsNormEpsilon, into: row + hd,
                    inverseRMS: inverse.map { $0 + config.headCount })
            }
        }
        let shape = attentionShape(layer: l)
        let table = rope(layer: l)
        let rotary = arch.positions == .rotary
        var probabilities = b.probabilities
        for (s, span) in spans.enumerated() {
            let keys = cache.keys(layer: l, sequence: s)  // (capacity, G·D)
            let values = cache.values(layer: l, sequence: s)
            if let source = cache.prefixSources[s] {
                // A sequence continuing another cache's sequence: its rows, this layer.
                let rows = span.firstPosition * kvw
                keys.update(from: source.cache.keys(layer: l, sequence: source.sequence), count: rows)
                values.update(from: source.cache.values(layer: l, sequence: source.sequence), count: rows)
            }
            if let source = cache.continuations[s] {
                // A sequence continuing an earlier one of this batch: its rows, this layer.
                keys.update(from: cache.keys(layer: l, sequence: source), count: span.firstPosition * kvw)
                values.update(from: cache.values(layer: l, sequence: source), count: span.firstPosition * kvw)
            }
            for i in 0..<span.rowCount {
                let r = qkv + (span.rowStart + i) * qkvWidth
                let p = span.firstPosition + i
                if rotary {
                    table.rotate(r, heads: config.headCount, position: p)
                    table.rotate(r + hd, heads: config.keyValueHeadCount, position: p)
                }
                (keys + p * kvw).update(from: r + hd, count: kvw)
                (values + p * kvw).update(from: r + hd + kvw, count: kvw)
            }
            CausalAttention.forward(
                q: qkv + span.rowStart * qkvWidth, qStride: qkvWidth,
                keys: keys, values: values, kvStride: kvw,
                past: span.firstPosition, tokens: span.rowCount, shape: shape,
                z: z + span.rowStart * hd, zStride: hd,
                probabilities: probabilities)
            if b.keepsProbabilities {
                let total = span.firstPosition + span.rowCount
                probabilities += config.headCount * span.rowCount * total
            }
        }
        hooks.visit(.headOutput(layer: l), z)
        w.outputMatrix.multiply(z, rows: n, into: out)
        addBias(w.outputBias, rows: n, width: c, into: out)
        postNormalize(out, weight: w.postAttentionNorm, rows: n, raw: b.attentionRaw, inverseRMS: b.attentionPostInverseRMS)
        hooks.visit(.attentionOut(layer: l), out)
        let mlpInput: UnsafeMutablePointer<Float>
        let mlpOut: UnsafeMutablePointer<Float>
        if arch.parallel {
            // The MLP reads the same normalised input; both outputs join x at the end.
            mlpInput = normed
            mlpOut = work.parallelProjected.pointer
        } else {
            add(out, into: x, count: n * c)
            hooks.visit(.residualMid(layer: l), x)
            b.mid?.update(from: x, count: n * c)
            normalize(
                x, weight: w.mlpNorm, bias: w.mlpNormBias, rows: n, into: b.normedMLP,
                inverse: b.mlpInverseRMS, mean: b.mlpMean)
            mlpInput = b.normedMLP
            mlpOut = out
        }

        // MLP: down(act(up(u))) (+ biases), e.g. llama's down(silu(gate(u)) ⊙ up(u))
        let gateUp = b.gateUp  // (N, 2F) gated, (N, F) otherwise
        let hidden = b.hidden  // (N, F)
        w.gateUpMatrix.multiply(mlpInput, rows: n, into: gateUp)
        addBias(w.gateUpBias, rows: n, width: f, into: gateUp)
        switch arch.mlp {
        case .swiGLU:
            SwiGLU.forward(gateUp: gateUp, rows: n, width: f, into: hidden, threads: BLAS.threadCount)
        case .gelu(let approximation):
            GELU.forward(
                gateUp, count: n * f, approximation: approximation, into: hidden,
                threads: BLAS.threadCount)
        case .geGLU(let approximation):
            GeGLU.forward(
                gateUp: gateUp, rows: n, width: f, into: hidden, approximation: approximation,
                threads: BLAS.threadCount)
        }
        hooks.visit(.mlpHidden(layer: l), hidden)
        w.downMatrix.multiply(hidden, rows: n, into: mlpOut)
        addBias(w.downBias, rows: n, width: c, into: mlpOut)
        postNormalize(mlpOut, weight: w.postMLPNorm, rows: n, raw: b.mlpRaw, inverseRMS: b.mlpPostInverseRMS)
        hooks.visit(.mlpOut(layer: l), mlpOut)
        if arch.parallel { add(out, into: x, count: n * c) }
        add(mlpOut, into: x, count: n * c)
    }

    /// Final norm, unembedding (+ bias) and soft-cap of the requested rows.
    func unembed(rows: Logits.Rows, spans: [SequenceSpan], totalRows n: Int) -> Logits {
        let c = config.hiddenSize, v = config.vocabularySize
        let x = work.residual.pointer
        let normed = work.normed.pointer
        var count = 0
        switch rows {
        case .none: break
        case .all:
            normalize(x, weight: weights.finalNorm, bias: weights.finalNormBias, rows: n, into: normed)
            count = n
        case .last:
            for (s, span) in spans.enumerated() {
                let r = span.rowStart + span.rowCount - 1
                normalize(
                    x + r * c, weight: weights.finalNorm, bias: weights.finalNormBias, rows: 1,
                    into: normed + s * c)
            }
            count = spans.count
        }
        let buffer = work.logitsBuffer(count: count * v)
        if count > 0 {
            weights.unembeddingMatrix.multiply(normed, rows: count, into: buffer.pointer)
            addBias(weights.unembeddingBias, rows: count, width: v, into: buffer.pointer)
            if let cap = config.architecture.finalLogitSoftCap {
                SoftCap.forward(buffer.pointer, cap: cap, count: count * v, into: buffer.pointer)
            }
        }
        return Logits(buffer: buffer, vocabularySize: v, rows: rows, sequences: spans)
    }

    @inline(__always)
    func add(_ a: UnsafePointer<Float>, into b: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { b[i] += a[i] }
    }
}
