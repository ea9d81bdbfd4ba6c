import LocusTensor

/// The activations a training forward pass keeps for `backward`, one set per layer, in buffers
/// that are reused from step to step (they grow to the largest batch seen and never shrink).
public final class ForwardTape: @unchecked Sendable {
    final class LayerTape {
        let input = FloatBuffer(count: 0)  // (N, C)
        let normedAttention = FloatBuffer(count: 0)  // (N, C)
        let attentionInverseRMS = FloatBuffer(count: 0)  // (N)
        let qkv = FloatBuffer(count: 0)  // (N, H·D + 2·G·D)
        let probabilities = FloatBuffer(count: 0)  // Σ_s (H, T_s, T_s)
        let heads = FloatBuffer(count: 0)  // (N, H·D)
        let mid = FloatBuffer(count: 0)  // (N, C)
        let normedMLP = FloatBuffer(count: 0)  // (N, C)
        let mlpInverseRMS = FloatBuffer(count: 0)  // (N)
        let gateUp = FloatBuffer(count: 0)  // (N, 2F)
        let hidden = FloatBuffer(count: 0)  // (N, F)
        // Variants only (reserved when the architecture has them).
        let attentionMean = FloatBuffer(count: 0)  // (N) LayerNorm μ
        let mlpMean = FloatBuffer(count: 0)  // (N)
        let preNormQK = FloatBuffer(count: 0)  // (N, H·D + G·D) Q, K before their norms
        let qkInverseRMS = FloatBuffer(count: 0)  // (N, H + G)
        let attentionRaw = FloatBuffer(count: 0)  // (N, C) o_proj output before the post-norm
        let attentionPostInverseRMS = FloatBuffer(count: 0)  // (N)
        let mlpRaw = FloatBuffer(count: 0)  // (N, C) down output before the post-norm
        let mlpPostInverseRMS = FloatBuffer(count: 0)  // (N)
        var architecture = Architecture.llama

        func reserve(rows n: Int, probabilityCount: Int, config: ModelConfig) {
            architecture = config.architecture
            if architecture.norm == .layerNorm {
                attentionMean.reserve(n)
                mlpMean.reserve(n)
            }
            if architecture.queryKeyNorm {
                preNormQK.reserve(n * (config.attentionWidth + config.keyValueWidth))
                qkInverseRMS.reserve(n * (config.headCount + config.keyValueHeadCount))
            }
            if architecture.sandwichNorms {
                for buffer in [attentionRaw, mlpRaw] { buffer.reserve(n * config.hiddenSize) }
                attentionPostInverseRMS.reserve(n)
                mlpPostInverseRMS.reserve(n)
            }
            let c = config.hiddenSize
            for buffer in [input, normedAttention, mid, normedMLP] { buffer.reserve(n * c) }
            attentionInverseRMS.reserve(n)
            mlpInverseRMS.reserve(n)
            qkv.reserve(n * (config.attentionWidth + 2 * config.keyValueWidth))
            probabilities.reserve(probabilityCount)
            heads.reserve(n * config.attentionWidth)
            gateUp.reserve(n * 2 * config.intermediateSize)
            hidden.reserve(n * config.intermediateSize)
        }

        var buffers: LayerBuffers {
            LayerBuffers(
                normedAttention: normedAttention.pointer, qkv: qkv.pointer, heads: heads.pointer,
                probabilities: probabilities.pointer, keepsProbabilities: true,
                normedMLP: normedMLP.pointer, gateUp: gateUp.pointer, hidden: hidden.pointer,
                input: input.pointer, mid: mid.pointer,
                attentionInverseRMS: attentionInverseRMS.pointer,
                mlpInverseRMS: mlpInverseRMS.pointer,
                attentionMean: architecture.norm == .layerNorm ? attentionMean.pointer : nil,
                mlpMean: architecture.norm == .layerNorm ? mlpMean.pointer : nil,
                preNormQK: architecture.queryKeyNorm ? preNormQK.pointer : nil,
                qkInverseRMS: architecture.queryKeyNorm ? qkInverseRMS.pointer : nil,
                attentionRaw: architecture.sandwichNorms ? attentionRaw.pointer : nil,
                attentionPostInverseRMS: architecture.sandwichNorms
                    ? attentionPostInverseRMS.pointer : nil,
                mlpRaw: architecture.sandwichNorms ? mlpRaw.pointer : nil,
                mlpPostInverseRMS: architecture.sandwichNorms ? mlpPostInverseRMS.pointer : nil)
        }
    }

    var layers: [LayerTape] = []
    /// The batch layout of the recorded pass.
    public internal(set) var sequences: [SequenceSpan] = []
    /// The KV cache of a pass that continued a cached prefix (its keys and values, prefix rows
    /// first); nil when every sequence started at position 0.
    var cache: KVCache?
    /// For each sequence of a pass with `continuing`, the sequence it continues (empty otherwise).
    var continuing: [Int?] = []
    /// The targets whose log-probabilities were computed, and the rows that predict them.
    public internal(set) var targets: [TokenTarget] = []
    /// The hooks of the recorded pass that the backward pass must differentiate through.
    var differentiableHooks: [ActivationSite: [DifferentiableHook]] = [:]
    var targetRows: [Int] = []
    /// For each target, the index of its row in `targetRows`.
    var rowOfTarget: [Int] = []
    /// Whether `backward` stops inside the lowest requested layer once its lowest requested
    /// site is reached (true); false runs that layer to resid_pre as before issue 14 (the same
    /// numbers, more work; tests compare the two).
    var stopsBelowLowestSite = true
    /// Work buffers of the backward pass.
    let gradients = BackwardBuffers()
    /// Final-norm input rows and their r, and softmax of the target rows' logits.
    let finalInput = FloatBuffer(count: 0)  // (R, C)
    let finalInverseRMS = FloatBuffer(count: 0)  // (R)
    let finalMean = FloatBuffer(count: 0)  // (R), LayerNorm
    let probabilities = FloatBuffer(count: 0)  // (R, V)
    /// The soft-capped logits c·tanh(ℓ/c) of the target rows (soft-capping families).
    let cappedLogits = FloatBuffer(count: 0)  // (R, V)

    public init() {}

    func reserve(rows n: Int, probabilityCount: Int, targetRows r: Int, config: ModelConfig) {
        while layers.count < config.layerCount { layers.append(LayerTape()) }
        for layer in layers {
            layer.reserve(rows: n, probabilityCount: probabilityCount, config: config)
        }
        finalInput.reserve(r * config.hiddenSize)
        finalInverseRMS.reserve(r)
        finalMean.reserve(r)
        probabilities.reserve(r * config.vocabularySize)
        if config.architecture.finalLogitSoftCap != nil {
            cappedLogits.reserve(r * config.vocabularySize)
        }
    }
}

/// A token whose log-probability a training loss uses: `log p(token | sequence[0...position])`,
/// read from the logits at `position` (so `token` is the one at `position + 1` when it is part
/// of the input).
public struct TokenTarget: Hashable, Sendable {
    public var sequence: Int
    public var position: Int
    public var token: Int

    public init(sequence: Int, position: Int, token: Int) {
        self.sequence = sequence
        self.position = position
        self.token = token
    }
}

/// Work buffers of `backward`, reused between steps.
final class BackwardBuffers {
    let residual = FloatBuffer(count: 0)  // (N, C) ∂x, the running residual gradient
    let normed = FloatBuffer(count: 0)  // (max(N, R), C)
    let scratchRows = FloatBuffer(count: 0)  // (R, C)
    let hidden = FloatBuffer(count: 0)  // (N, F)
    let gateUp = FloatBuffer(count: 0)  // (N, 2F)
    let heads = FloatBuffer(count: 0)  // (N, H·D)
    let qkv = FloatBuffer(count: 0)  // (N, H·D + 2·G·D)
    let attentionScratch = FloatBuffer(count: 0)  // (T, T)
    let branch = FloatBuffer(count: 0)  // (N, C) ∂ of attention/MLP output when a hook edits it
    let parallelNormed = FloatBuffer(count: 0)  // (N, C) ∂ of the MLP's input in a parallel block
    let postNorm = FloatBuffer(count: 0)  // (N, C) ∂ of a sandwich norm's input
    let queryKey = FloatBuffer(count: 0)  // (H·D + G·D) ∂ of one token's Q, K before their norms

    func reserve(rows n: Int, longest: Int, targetRows r: Int, config: ModelConfig) {
        let c = config.hiddenSize
        residual.reserve(n * c)
        normed.reserve(max(n, r) * c)
        scratchRows.reserve(r * c)
        hidden.reserve(n * config.intermediateSize)
        gateUp.reserve(n * 2 * config.intermediateSize)
        heads.reserve(n * config.attentionWidth)
        qkv.reserve(n * (config.attentionWidth + 2 * config.keyValueWidth))
        attentionScratch.reserve(longest * longest)
        branch.reserve(n * c)
        if config.architecture.parallel { parallelNormed.reserve(n * c) }
        if config.architecture.sandwichNorms { postNorm.reserve(n * c) }
        if config.architecture.queryKeyNorm {
            queryKey.reserve(config.attentionWidth + config.keyValueWidth)
        }
    }
}
