import LocusTensor

/// Work buffers of the forward pass, allocated once and grown when a larger batch arrives
/// (first touch of fresh memory is slow; reuse is not).
final class Workspace {
    let residual = FloatBuffer(count: 0)  // (N, C)
    let normed = FloatBuffer(count: 0)  // (N, C)
    let qkv = FloatBuffer(count: 0)  // (N, H·D + 2·G·D)
    let heads = FloatBuffer(count: 0)  // (N, H·D)
    let projected = FloatBuffer(count: 0)  // (N, C)
    let parallelProjected = FloatBuffer(count: 0)  // (N, C) MLP output of a parallel block
    let gateUp = FloatBuffer(count: 0)  // (N, 2F)
    let hidden = FloatBuffer(count: 0)  // (N, F)
    let probabilities = FloatBuffer(count: 0)  // (H, T, P+T) of the longest sequence
    let siteScratch = FloatBuffer(count: 0)  // (N, H·D) hooked slice of a fused buffer
    private var logits = FloatBuffer(count: 0)
    private var cache: KVCache?
    private var oneLayerCache: KVCache?

    func reserve(rows n: Int, longest: Int, config: ModelConfig) {
        residual.reserve(n * config.hiddenSize)
        normed.reserve(n * config.hiddenSize)
        qkv.reserve(n * (config.attentionWidth + 2 * config.keyValueWidth))
        heads.reserve(n * config.attentionWidth)
        projected.reserve(n * config.hiddenSize)
        if config.architecture.parallel { parallelProjected.reserve(n * config.hiddenSize) }
        gateUp.reserve(n * 2 * config.intermediateSize)
        hidden.reserve(n * config.intermediateSize)
        probabilities.reserve(config.headCount * longest * longest)
    }

    /// Inference: every layer writes the same scratch buffers and keeps nothing.
    var layerBuffers: LayerBuffers {
        LayerBuffers(
            normedAttention: normed.pointer, qkv: qkv.pointer, heads: heads.pointer,
            probabilities: probabilities.pointer, keepsProbabilities: false,
            normedMLP: normed.pointer, gateUp: gateUp.pointer, hidden: hidden.pointer)
    }

    /// A cache for stateless calls, reused when its geometry fits.
    /// (Training keeps every layer, `forwardForTraining`'s backward reads them; a stateless
    /// forward keeps one layer.)
    func scratchCache(
        config: ModelConfig, sequences: Int, capacity: Int, storage: KVCache.Storage = .everyLayer
    ) -> KVCache {
        let kept = storage == .everyLayer ? cache : oneLayerCache
        if let kept, kept.fits(sequences: sequences, capacity: capacity, config: config, storage: storage) {
            return kept
        }
        // Release the old one before allocating its replacement (peak memory).
        if storage == .everyLayer { cache = nil } else { oneLayerCache = nil }
        let fresh = KVCache(config: config, sequences: sequences, capacity: capacity, storage: storage)
        if storage == .everyLayer { cache = fresh } else { oneLayerCache = fresh }
        return fresh
    }

    /// The buffer for this call's logits: the previous one when no `Logits` still holds it.
    func logitsBuffer(count: Int) -> FloatBuffer {
        if !isKnownUniquelyReferenced(&logits) { logits = FloatBuffer(count: 0) }
        logits.reserve(count)
        return logits
    }
}

/// Routes each site's activation to the hooks that asked for it.
struct HookDispatch {
    private var bySite: [ActivationSite: [ActivationHook]] = [:]
    let spans: [SequenceSpan]
    let config: ModelConfig

    init(hooks: [ActivationHook], spans: [SequenceSpan], config: ModelConfig) {
        self.spans = spans
        self.config = config
        for hook in hooks {
            for site in hook.sites { bySite[site, default: []].append(hook) }
        }
    }

    /// Calls the hooks of `site` (if any) on `values`, shaped (N, width of the site).
    func visit(_ site: ActivationSite, _ values: UnsafeMutablePointer<Float>) {
        guard let hooks = bySite[site] else { return }
        let batch = ActivationBatch(
            site: site, values: values, width: site.width(in: config), sequences: spans)
        for hook in hooks { hook.visit(batch) }
    }

    /// Calls the hooks of `site` on columns `offset..<offset + width` of rows with stride
    /// `rowStride` (a slice of a fused buffer): copied out contiguously, visited, copied back.
    func visit(
        _ site: ActivationSite, _ base: UnsafeMutablePointer<Float>, rowStride: Int, offset: Int,
        rows n: Int, scratch: FloatBuffer
    ) {
        guard bySite[site] != nil else { return }
        let width = site.width(in: config)
        scratch.reserve(n * width)
        for r in 0..<n { (scratch.pointer + r * width).update(from: base + r * rowStride + offset, count: width) }
        visit(site, scratch.pointer)
        for r in 0..<n { (base + r * rowStride + offset).update(from: scratch.pointer + r * width, count: width) }
    }
}

/// Where one block writes its intermediate activations: the shared scratch buffers during
/// inference, or a layer's own tape buffers when the backward pass will need them.
struct LayerBuffers {
    var normedAttention: UnsafeMutablePointer<Float>  // (N, C)
    var qkv: UnsafeMutablePointer<Float>  // (N, H·D + 2·G·D), Q and K after RoPE
    var heads: UnsafeMutablePointer<Float>  // (N, H·D) z, after hooks
    /// Attention probabilities: one sequence's (H, T, P+T) reused, or all sequences' kept
    /// back to back when `keepsProbabilities`.
    var probabilities: UnsafeMutablePointer<Float>
    var keepsProbabilities: Bool
    var normedMLP: UnsafeMutablePointer<Float>  // (N, C)
    var gateUp: UnsafeMutablePointer<Float>  // (N, 2F)
    var hidden: UnsafeMutablePointer<Float>  // (N, F), after hooks
    /// Training only: the residual entering the block and after attention, and the norms' r.
    var input: UnsafeMutablePointer<Float>? = nil  // (N, C)
    var mid: UnsafeMutablePointer<Float>? = nil  // (N, C)
    var attentionInverseRMS: UnsafeMutablePointer<Float>? = nil  // (N) r, or 1/σ for LayerNorm
    var mlpInverseRMS: UnsafeMutablePointer<Float>? = nil  // (N)
    /// Training only, for the variants: LayerNorm means, Q/K before their norms and the
    /// norms' r, the sandwich norms' inputs and r.
    var attentionMean: UnsafeMutablePointer<Float>? = nil  // (N)
    var mlpMean: UnsafeMutablePointer<Float>? = nil  // (N)
    var preNormQK: UnsafeMutablePointer<Float>? = nil  // (N, H·D + G·D)
    var qkInverseRMS: UnsafeMutablePointer<Float>? = nil  // (N, H + G)
    var attentionRaw: UnsafeMutablePointer<Float>? = nil  // (N, C)
    var attentionPostInverseRMS: UnsafeMutablePointer<Float>? = nil  // (N)
    var mlpRaw: UnsafeMutablePointer<Float>? = nil  // (N, C)
    var mlpPostInverseRMS: UnsafeMutablePointer<Float>? = nil  // (N)
}
