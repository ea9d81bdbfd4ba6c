import Foundation
import LocusCheckpoint
import LocusTensor
import LocusWeights

/// A llama-architecture decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU) over packed
/// batches of variable-length sequences.
///
/// Not thread-safe: one forward call at a time (work buffers are reused between calls).
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    public let weights: LlamaWeights
    let rope: RoPETable
    let work = Workspace()

    public init(config: LlamaConfig, weights: LlamaWeights) {
        self.config = config
        self.weights = weights
        rope = RoPETable(headWidth: config.headWidth, base: config.ropeBase)
    }

    /// Runs the model on new tokens of each sequence.
    ///
    /// - Parameters:
    ///   - tokens: one id list per sequence (the new tokens; lengths may differ).
    ///   - cache: the sequences' KV cache; new keys/values are appended to it. Without one, each
    ///     sequence starts at position 0 and a scratch cache is used.
    ///   - hooks: called at their sites, in order.
    ///   - rows: which positions get logits (the `logits:` argument).
    public func forward(
        _ tokens: [[Int]], cache: KVCache? = nil, hooks: [ActivationHook] = [],
        logits rows: Logits.Rows = .last
    ) throws -> Logits {
        let spans = try plan(tokens, cache: cache)
        let n = spans.last.map { $0.rowStart + $0.rowCount } ?? 0
        let longest = spans.map { $0.firstPosition + $0.rowCount }.max() ?? 0
        let kv = cache ?? work.scratchCache(config: config, sequences: tokens.count, capacity: longest)
        if cache == nil { kv.reset() }
        work.reserve(rows: n, longest: longest, config: config)
        run(tokens, spans: spans, cache: kv, hooks: hooks, tape: nil)
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
        rope.reserve(positions: spans.map { $0.firstPosition + $0.rowCount }.max() ?? 0)
        let x = work.residual.pointer  // (N, C)
        for (s, ids) in tokens.enumerated() {
            for (i, id) in ids.enumerated() {
                weights.embeddingMatrix.readRows(id..<id + 1, into: x + (spans[s].rowStart + i) * c)
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

    /// One decoder block, in place on the residual stream `work.residual`.
    func block(
        _ l: Int, rows n: Int, spans: [SequenceSpan], cache: KVCache, hooks: HookDispatch,
        buffers b: LayerBuffers
    ) {
        let w = weights.layers[l]
        let c = config.hiddenSize, f = config.intermediateSize
        let hd = config.attentionWidth, kvw = config.keyValueWidth
        let qkvWidth = hd + 2 * kvw
        let x = work.residual.pointer  // (N, C)
        let normed = b.normedAttention  // (N, C)
        let qkv = b.qkv  // (N, H·D + 2·G·D)
        let z = b.heads  // (N, H·D)
        let out = work.projected.pointer  // (N, C)

        // Attention: x + o_proj(attn(rmsnorm(x)))
        b.input?.update(from: x, count: n * c)
        RMSNorm.forward(
            x, weight: w.attentionNorm.pointer, rows: n, width: c,
            epsilon: config.rmsNormEpsilon, into: normed, inverseRMS: b.attentionInverseRMS)
        w.qkvMatrix.multiply(normed, rows: n, into: qkv)
        for (site, offset) in [
            (ActivationSite.queries(layer: l), 0), (.keys(layer: l), hd), (.values(layer: l), hd + kvw),
        ] {
            hooks.visit(site, qkv, rowStride: qkvWidth, offset: offset, rows: n, scratch: work.siteScratch)
        }
        let shape = AttentionShape(
            queryHeads: config.headCount, keyValueHeads: config.keyValueHeadCount,
            headWidth: config.headWidth)
        var probabilities = b.probabilities
        for (s, span) in spans.enumerated() {
            let keys = cache.keys(layer: l, sequence: s)  // (capacity, G·D)
            let values = cache.values(layer: l, sequence: s)
            for i in 0..<span.rowCount {
                let r = qkv + (span.rowStart + i) * qkvWidth
                let p = span.firstPosition + i
                rope.rotate(r, heads: config.headCount, position: p)
                rope.rotate(r + hd, heads: config.keyValueHeadCount, position: p)
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
        hooks.visit(.attentionOut(layer: l), out)
        add(out, into: x, count: n * c)
        hooks.visit(.residualMid(layer: l), x)

        // MLP: x + down(silu(gate(rmsnorm(x))) ⊙ up(rmsnorm(x)))
        b.mid?.update(from: x, count: n * c)
        RMSNorm.forward(
            x, weight: w.mlpNorm.pointer, rows: n, width: c, epsilon: config.rmsNormEpsilon,
            into: b.normedMLP, inverseRMS: b.mlpInverseRMS)
        let gateUp = b.gateUp  // (N, 2F)
        let hidden = b.hidden  // (N, F)
        w.gateUpMatrix.multiply(b.normedMLP, rows: n, into: gateUp)
        SwiGLU.forward(gateUp: gateUp, rows: n, width: f, into: hidden, threads: BLAS.threadCount)
        hooks.visit(.mlpHidden(layer: l), hidden)
        w.downMatrix.multiply(hidden, rows: n, into: out)
        hooks.visit(.mlpOut(layer: l), out)
        add(out, into: x, count: n * c)
    }

    /// Final RMSNorm and unembedding of the requested rows.
    func unembed(rows: Logits.Rows, spans: [SequenceSpan], totalRows n: Int) -> Logits {
        let c = config.hiddenSize, v = config.vocabularySize
        let x = work.residual.pointer
        let normed = work.normed.pointer
        var count = 0
        switch rows {
        case .none: break
        case .all:
            RMSNorm.forward(
                x, weight: weights.finalNorm.pointer, rows: n, width: c,
                epsilon: config.rmsNormEpsilon, into: normed)
            count = n
        case .last:
            for (s, span) in spans.enumerated() {
                let r = span.rowStart + span.rowCount - 1
                RMSNorm.forward(
                    x + r * c, weight: weights.finalNorm.pointer, rows: 1, width: c,
                    epsilon: config.rmsNormEpsilon, into: normed + s * c)
            }
            count = spans.count
        }
        let buffer = work.logitsBuffer(count: count * v)
        if count > 0 {
            weights.unembeddingMatrix.multiply(normed, rows: count, into: buffer.pointer)
        }
        return Logits(buffer: buffer, vocabularySize: v, rows: rows, sequences: spans)
    }

    @inline(__always)
    func add(_ a: UnsafePointer<Float>, into b: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { b[i] += a[i] }
    }
}
