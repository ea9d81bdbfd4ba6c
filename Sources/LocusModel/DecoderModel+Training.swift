import LocusTensor
import LocusWeights

/// A weight matrix whose gradient the backward pass can accumulate (only when asked).
public enum WeightSelector: Hashable, Sendable, Codable {
    /// Block l's MLP down projection, (C, F): ROME's and FT-L's edited matrix.
    case mlpDown(layer: Int)
    /// Block l's attention output projection o_proj, (C, H·D).
    case attentionOutput(layer: Int)

    var layer: Int {
        switch self {
        case .mlpDown(let l), .attentionOutput(let l): l
        }
    }
}

/// The result of `backward`: ∂loss/∂activation at the requested sites (whole packed batch,
/// (N, width) row-major, with respect to the activation *after* the hooks ran) and ∂loss/∂W of
/// the requested weights.
public struct Gradients: @unchecked Sendable {
    public internal(set) var sites: [ActivationSite: [Float]] = [:]
    public internal(set) var weights: [WeightSelector: [Float]] = [:]
    public let sequences: [SequenceSpan]
}

extension DecoderModel {
    /// A forward pass that keeps what `backward` needs, returning log p(target) for each target.
    ///
    /// Without `prefix` every sequence starts at position 0. With `prefix` (a one-sequence cache
    /// holding the keys and values of P shared tokens, computed beforehand without hooks), every
    /// sequence continues it: its tokens sit at positions P, P + 1, … (targets and hook positions
    /// are absolute), attend to the prefix, and only the new tokens are computed and kept. The
    /// backward pass then treats the prefix as a constant, which is exact when nothing trained
    /// acts on it (e.g. a steering edit that fires only after the shared prefix).
    ///
    /// Hooks run as in `forward`; the backward pass carries gradients through
    /// `DifferentiableHook`s and treats other hooks as additive edits (the gradient passes
    /// through unchanged), which is exact for vector additions.
    ///
    /// With `continuing` (one entry per sequence: nil, or the index of an *earlier* sequence of
    /// the batch that does not itself continue another), sequence s continues sequence
    /// `continuing[s]` of the same pass: its tokens sit after that sequence's last token and
    /// attend to its keys and values, which are computed once for both, and the backward pass
    /// carries the gradient of those keys and values back into the source's rows (a prompt
    /// shared by a preference pair's two answers, issue 14). The numbers are those of running
    /// the source's tokens + sequence s's tokens as one sequence, up to float rounding.
    public func forwardForTraining(
        _ tokens: [[Int]], targets: [TokenTarget], hooks: [ActivationHook] = [],
        tape: ForwardTape, prefix: KVCache? = nil, continuing: [Int?] = []
    ) throws -> [Float] {
        let past = prefix.map { $0.lengths[0] } ?? 0
        precondition(continuing.isEmpty || continuing.count == tokens.count, "one entry per sequence")
        var starts = [Int](repeating: past, count: tokens.count)  // first position of each sequence
        for (s, source) in continuing.enumerated() {
            guard let source else { continue }
            guard source >= 0, source < s, continuing[source] == nil else {
                throw ModelError.cacheMismatch(
                    "sequence \(s) continues sequence \(source), which is not an earlier sequence starting the batch")
            }
            starts[s] = past + tokens[source].count
        }
        let capacity = zip(starts, tokens).map { $0 + $1.count }.max() ?? past
        let kv = work.scratchCache(config: config, sequences: max(tokens.count, 1), capacity: capacity)
        kv.reset()
        if let prefix { for s in tokens.indices { kv.copyPrefix(from: prefix, sequence: 0, to: s) } }
        let continues = continuing.contains { $0 != nil }
        if continues {
            for (s, source) in continuing.enumerated() {
                guard let source else { continue }
                kv.continuations[s] = source
                kv.lengths[s] = starts[s]
            }
        }
        let spans = try plan(tokens, cache: prefix == nil && !continues ? nil : kv)
        try checkSites(hooks.flatMap(\.sites))
        let n = spans.last.map { $0.rowStart + $0.rowCount } ?? 0
        let longest = spans.map { $0.firstPosition + $0.rowCount }.max() ?? 0
        var rowOfTarget: [Int] = []
        var uniqueRows: [Int] = []
        var indexOfRow: [Int: Int] = [:]
        for target in targets {
            guard target.sequence >= 0, target.sequence < spans.count,
                let row = spans[target.sequence].row(ofPosition: target.position)
            else {
                throw ModelError.cacheMismatch("target \(target) is outside the batch")
            }
            guard target.token >= 0, target.token < config.vocabularySize else {
                throw ModelError.tokenOutOfRange(
                    token: target.token, vocabularySize: config.vocabularySize)
            }
            if indexOfRow[row] == nil {
                indexOfRow[row] = uniqueRows.count
                uniqueRows.append(row)
            }
            rowOfTarget.append(indexOfRow[row]!)
        }
        let probabilityCount = spans.reduce(0) {
            $0 + config.headCount * $1.rowCount * ($1.firstPosition + $1.rowCount)
        }
        tape.reserve(
            rows: n, probabilityCount: probabilityCount, targetRows: uniqueRows.count,
            config: config)
        work.reserve(rows: n, longest: longest, config: config)
        run(tokens, spans: spans, cache: kv, hooks: hooks, tape: tape)
        tape.sequences = spans
        tape.cache = past > 0 || continues ? kv : nil
        tape.continuing = continues ? continuing : []
        tape.targets = targets
        tape.differentiableHooks = [:]
        for case let hook as DifferentiableHook in hooks {
            for site in hook.sites { tape.differentiableHooks[site, default: []].append(hook) }
        }
        tape.targetRows = uniqueRows

        // Final norm and logits of the target rows only; keep softmax for the backward pass.
        let c = config.hiddenSize, v = config.vocabularySize
        let normed = work.normed.pointer  // (R, C)
        for (k, row) in uniqueRows.enumerated() {
            (tape.finalInput.pointer + k * c).update(
                from: work.residual.pointer + row * c, count: c)
        }
        normalize(
            tape.finalInput.pointer, weight: weights.finalNorm, bias: weights.finalNormBias,
            rows: uniqueRows.count, into: normed, inverse: tape.finalInverseRMS.pointer,
            mean: tape.finalMean.pointer)
        let probabilities = tape.probabilities.pointer  // (R, V), logits until converted
        weights.unembeddingMatrix.multiply(normed, rows: uniqueRows.count, into: probabilities)
        addBias(weights.unembeddingBias, rows: uniqueRows.count, width: v, into: probabilities)
        if let cap = config.architecture.finalLogitSoftCap {
            SoftCap.forward(probabilities, cap: cap, count: uniqueRows.count * v, into: probabilities)
            tape.cappedLogits.pointer.update(from: probabilities, count: uniqueRows.count * v)
        }
        var logSumExps: [Float] = []
        for k in 0..<uniqueRows.count {
            logSumExps.append(LogSoftmax.logSumExp(probabilities + k * v, count: v))
        }
        let logProbabilities = targets.enumerated().map { i, target in
            probabilities[rowOfTarget[i] * v + target.token] - logSumExps[rowOfTarget[i]]
        }
        for k in 0..<uniqueRows.count {
            let row = probabilities + k * v
            for j in 0..<v { row[j] = Foundation.exp(row[j] - logSumExps[k]) }
        }
        tape.rowOfTarget = rowOfTarget
        return logProbabilities
    }

    /// Backpropagates ∂loss/∂log p(target) (one value per target of the last
    /// `forwardForTraining`) down to the lowest requested layer, and within it only as far down
    /// as the lowest requested site: when that is z (`.headOutput`, the steering vectors' site)
    /// the layer's attention backward and ∂(norm x) = W_qkvᵀ·∂qkv are never formed. Only the
    /// requested site and weight gradients are kept; weight gradients of everything else are
    /// never formed.
    ///
    /// Consumes the tape's softmax: call once per training forward.
    public func backward(
        _ tape: ForwardTape, logProbabilityGradients g: [Float],
        sites: Set<ActivationSite>, weights requested: Set<WeightSelector> = []
    ) -> Gradients {
        precondition(g.count == tape.targets.count, "one gradient per target")
        precondition(
            config.architecture.hasResidualMid || !sites.contains { if case .residualMid = $0 { true } else { false } },
            "\(config.family.displayName) blocks are parallel: there is no resid_mid gradient")
        var result = Gradients(sequences: tape.sequences)
        let lowest = (sites.map(\.layer) + requested.map(\.layer)).min()
        guard let lowest else { return result }
        let c = config.hiddenSize, v = config.vocabularySize, f = config.intermediateSize
        let hd = config.attentionWidth, kvw = config.keyValueWidth, qkvWidth = hd + 2 * kvw
        let spans = tape.sequences
        let n = spans.last.map { $0.rowStart + $0.rowCount } ?? 0
        let r = tape.targetRows.count
        let grads = tape.gradients
        grads.reserve(rows: n, longest: spans.map(\.rowCount).max() ?? 0, targetRows: r, config: config)
        grads.attentionScratch.reserve(spans.map { $0.rowCount * ($0.firstPosition + $0.rowCount) }.max() ?? 0)
        let dx = grads.residual.pointer  // (N, C)
        dx.update(repeating: 0, count: n * c)

        // log p_t = logit_t − lse  ⇒  ∂/∂logits = g·(onehot(t) − softmax)
        let dLogits = tape.probabilities.pointer  // (R, V), overwritten in place
        var rowWeight = [Float](repeating: 0, count: r)
        for (i, gi) in g.enumerated() { rowWeight[tape.rowOfTarget[i]] += gi }
        for k in 0..<r {
            let row = dLogits + k * v
            let w = -rowWeight[k]
            for j in 0..<v { row[j] *= w }
        }
        for (i, target) in tape.targets.enumerated() {
            dLogits[tape.rowOfTarget[i] * v + target.token] += g[i]
        }
        if let cap = config.architecture.finalLogitSoftCap {
            // y = c·tanh(ℓ/c): ∂ℓ = ∂y·(1 − (y/c)²)
            SoftCap.backward(
                dLogits, output: tape.cappedLogits.pointer, cap: cap, count: r * v, into: dLogits)
        }
        let dNormed = grads.normed.pointer  // (R, C)
        weights.unembeddingMatrix.multiplyTransposed(dLogits, rows: r, into: dNormed)
        let dFinal = grads.scratchRows.pointer  // (R, C)
        dFinal.update(repeating: 0, count: r * c)
        normalizeBackward(
            dNormed, x: tape.finalInput.pointer, weight: weights.finalNorm,
            inverse: tape.finalInverseRMS.pointer, mean: tape.finalMean.pointer, rows: r, dx: dFinal)
        for (k, row) in tape.targetRows.enumerated() {
            let target = dx + row * c, source = dFinal + k * c
            for i in 0..<c { target[i] += source[i] }
        }

        /// Keeps ∂loss/∂(activation after hooks) if requested, then carries the gradient back
        /// through the site's differentiable hooks (last applied first).
        func visit(_ site: ActivationSite, _ values: UnsafeMutablePointer<Float>, width: Int) {
            if sites.contains(site) {
                result.sites[site] = Array(UnsafeBufferPointer(start: values, count: n * width))
            }
            for hook in (tape.differentiableHooks[site] ?? []).reversed() {
                hook.backpropagate(
                    ActivationBatch(site: site, values: values, width: width, sequences: spans))
            }
        }
        /// The gradient of a branch output (attention or MLP) when hooks edit it: a copy of
        /// the residual gradient carried back through them; otherwise the residual gradient.
        func branchGradient(_ site: ActivationSite) -> UnsafeMutablePointer<Float> {
            guard tape.differentiableHooks[site] != nil else {
                visit(site, dx, width: c)
                return dx
            }
            let branch = grads.branch.pointer
            branch.update(from: dx, count: n * c)
            visit(site, branch, width: c)
            return branch
        }
        /// Gemma-3's sandwich post-norm on a branch, y = RMSNorm(raw) ⊙ w (the forward's
        /// `postMLPNorm`/`postAttentionNorm` step): ∂raw from ∂y, in `grads.postNorm`; ∂y itself
        /// when the block has no post-norm.
        func postNormBackward(
            _ dy: UnsafeMutablePointer<Float>, weight: FloatBuffer?, raw: UnsafeMutablePointer<Float>?,
            inverseRMS: UnsafeMutablePointer<Float>?
        ) -> UnsafeMutablePointer<Float> {
            guard let weight, let raw, let inverseRMS else { return dy }
            let dRaw = grads.postNorm.pointer  // (N, C)
            dRaw.update(repeating: 0, count: n * c)
            RMSNorm.backward(
                dy, x: raw, weight: weight.pointer, inverseRMS: inverseRMS, rows: n, width: c, dx: dRaw)
            return dRaw
        }
        let arch = config.architecture
        let d = config.headWidth
        for l in stride(from: config.layerCount - 1, through: lowest, by: -1) {
            let w = weights.layers[l], saved = tape.layers[l]
            let buffers = saved.buffers
            visit(.residualPost(layer: l), dx, width: c)
            // x₂ = x₁ + [postnorm](down(h) + b): ∂m = ∂x₂ (through the mlpOut hooks)
            let dm = postNormBackward(  // (N, C)
                branchGradient(.mlpOut(layer: l)), weight: w.postMLPNorm, raw: buffers.mlpRaw,
                inverseRMS: buffers.mlpPostInverseRMS)
            if requested.contains(.mlpDown(layer: l)) {
                var dW = [Float](repeating: 0, count: c * f)
                BLAS.linearWeightGradient(
                    dm, x: saved.hidden.pointer, rows: n, outputWidth: c, inputWidth: f, into: &dW)
                result.weights[.mlpDown(layer: l)] = dW
            }
            let dHidden = grads.hidden.pointer  // (N, F)
            w.downMatrix.multiplyTransposed(dm, rows: n, into: dHidden)
            visit(.mlpHidden(layer: l), dHidden, width: f)
            let dGateUp = grads.gateUp.pointer  // (N, 2F) gated, (N, F) otherwise
            dGateUp.update(repeating: 0, count: n * 2 * f)
            switch arch.mlp {
            case .swiGLU:
                SwiGLU.backward(dHidden, gateUp: saved.gateUp.pointer, rows: n, width: f, dGateUp: dGateUp)
            case .gelu(let approximation):
                GELU.backward(
                    dHidden, x: saved.gateUp.pointer, count: n * f, approximation: approximation,
                    dx: dGateUp)
            case .geGLU(let approximation):
                GeGLU.backward(
                    dHidden, gateUp: saved.gateUp.pointer, rows: n, width: f, dGateUp: dGateUp,
                    approximation: approximation)
            }
            if arch.parallel {
                // GPT-J: the MLP read norm(x₀) too; its share joins the attention's below.
                let dNormedMLP = grads.parallelNormed.pointer  // (N, C)
                w.gateUpMatrix.multiplyTransposed(dGateUp, rows: n, into: dNormedMLP)
            } else {
                let dNormedMLP = grads.normed.pointer  // (N, C)
                w.gateUpMatrix.multiplyTransposed(dGateUp, rows: n, into: dNormedMLP)
                normalizeBackward(
                    dNormedMLP, x: saved.mid.pointer, weight: w.mlpNorm,
                    inverse: saved.mlpInverseRMS.pointer, mean: buffers.mlpMean, rows: n, dx: dx)
                visit(.residualMid(layer: l), dx, width: c)
            }
            // x₁ = x₀ + [postnorm](o_proj(z) + b): ∂a = ∂x₁ (through the attentionOut hooks)
            let da = postNormBackward(  // (N, C)
                branchGradient(.attentionOut(layer: l)), weight: w.postAttentionNorm,
                raw: buffers.attentionRaw, inverseRMS: buffers.attentionPostInverseRMS)
            if requested.contains(.attentionOutput(layer: l)) {
                var dW = [Float](repeating: 0, count: c * hd)
                BLAS.linearWeightGradient(
                    da, x: saved.heads.pointer, rows: n, outputWidth: c, inputWidth: hd, into: &dW)
                result.weights[.attentionOutput(layer: l)] = dW
            }
            let dz = grads.heads.pointer  // (N, H·D)
            w.outputMatrix.multiplyTransposed(da, rows: n, into: dz)
            visit(.headOutput(layer: l), dz, width: hd)
            // In the lowest layer asked for, nothing below z is needed when neither resid_pre
            // nor a hook on it is: the attention backward and the QKV transposed product of
            // that layer are skipped (the steering vectors' lowest site is z; issue 14).
            if l == lowest, tape.stopsBelowLowestSite, !sites.contains(.residualPre(layer: l)),
                tape.differentiableHooks[.residualPre(layer: l)] == nil
            {
                break
            }
            let dqkv = grads.qkv.pointer  // (N, H·D + 2·G·D)
            dqkv.update(repeating: 0, count: n * qkvWidth)
            var probabilities = saved.probabilities.pointer
            let table = rope(layer: l)
            let shape = attentionShape(layer: l)
            // Attention backward of every sequence first (∂ of the keys after RoPE), so that a
            // sequence continuing another can add its share to the source's key/value rows
            // before those rows are carried back through RoPE and the Q/K norms below.
            for (s, span) in spans.enumerated() {
                let t = span.rowCount, base = span.rowStart * qkvWidth, past = span.firstPosition
                // Keys and values after RoPE: the batch's own rows, or (after a cached prefix or
                // a continued sequence) the cache, which holds the earlier rows followed by these.
                let keys: UnsafePointer<Float>, values: UnsafePointer<Float>, kvStride: Int
                if past > 0, let cache = tape.cache {
                    keys = UnsafePointer(cache.keys(layer: l, sequence: s))
                    values = UnsafePointer(cache.values(layer: l, sequence: s))
                    kvStride = kvw
                } else {
                    keys = UnsafePointer(saved.qkv.pointer + base + hd)
                    values = UnsafePointer(saved.qkv.pointer + base + hd + kvw)
                    kvStride = qkvWidth
                }
                var pastGradient: (from: Int, keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>, stride: Int)?
                if s < tape.continuing.count, let source = tape.continuing[s] {
                    let origin = dqkv + spans[source].rowStart * qkvWidth
                    pastGradient = (spans[source].firstPosition, origin + hd, origin + hd + kvw, qkvWidth)
                }
                CausalAttention.backward(
                    dz: dz + span.rowStart * hd, zStride: hd,
                    q: saved.qkv.pointer + base, qStride: qkvWidth,
                    keys: keys, values: values, kvStride: kvStride, probabilities: probabilities,
                    past: past, tokens: t, shape: shape,
                    dq: dqkv + base, dqStride: qkvWidth, dk: dqkv + base + hd,
                    dv: dqkv + base + hd + kvw, dkvStride: qkvWidth,
                    scratch: grads.attentionScratch.pointer, pastGradient: pastGradient)
                probabilities += config.headCount * t * (past + t)
            }
            for span in spans {
                let t = span.rowCount, base = span.rowStart * qkvWidth, past = span.firstPosition
                for i in 0..<t {
                    let row = dqkv + base + i * qkvWidth
                    // Forward: q' = rope(qnorm(q)), k' = rope(knorm(k)); undone in reverse.
                    if arch.positions == .rotary {
                        table.rotate(row, heads: config.headCount, position: past + i, inverse: true)
                        table.rotate(
                            row + hd, heads: config.keyValueHeadCount, position: past + i, inverse: true)
                    }
                    if let qn = w.queryNorm, let kn = w.keyNorm, let raw = buffers.preNormQK,
                        let inverse = buffers.qkInverseRMS
                    {
                        let heads = config.headCount + config.keyValueHeadCount
                        let r = span.rowStart + i
                        let dPre = grads.queryKey.pointer  // (H·D + G·D)
                        dPre.update(repeating: 0, count: hd + kvw)
                        RMSNorm.backward(
                            row, x: raw + r * (hd + kvw), weight: qn.pointer,
                            inverseRMS: inverse + r * heads, rows: config.headCount, width: d, dx: dPre)
                        RMSNorm.backward(
                            row + hd, x: raw + r * (hd + kvw) + hd, weight: kn.pointer,
                            inverseRMS: inverse + r * heads + config.headCount,
                            rows: config.keyValueHeadCount, width: d, dx: dPre + hd)
                        row.update(from: dPre, count: hd + kvw)
                    }
                }
            }
            let dNormedAttention = grads.normed.pointer  // (N, C)
            w.qkvMatrix.multiplyTransposed(dqkv, rows: n, into: dNormedAttention)
            if arch.parallel { add(grads.parallelNormed.pointer, into: dNormedAttention, count: n * c) }
            normalizeBackward(
                dNormedAttention, x: saved.input.pointer, weight: w.attentionNorm,
                inverse: saved.attentionInverseRMS.pointer, mean: buffers.attentionMean, rows: n,
                dx: dx)
            visit(.residualPre(layer: l), dx, width: c)
        }
        return result
    }

    /// Backward of `normalize`, accumulating ∂x (RMSNorm, or LayerNorm with its saved μ).
    func normalizeBackward(
        _ dy: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: FloatBuffer,
        inverse: UnsafePointer<Float>, mean: UnsafePointer<Float>?, rows: Int,
        dx: UnsafeMutablePointer<Float>
    ) {
        switch config.architecture.norm {
        case .rms:
            RMSNorm.backward(
                dy, x: x, weight: weight.pointer, inverseRMS: inverse, rows: rows,
                width: config.hiddenSize, dx: dx)
        case .layerNorm:
            LayerNorm.backward(
                dy, x: x, weight: weight.pointer, mean: mean!, inverseStd: inverse, rows: rows,
                width: config.hiddenSize, dx: dx)
        }
    }
}

import Foundation
