import Foundation
import LocusCore
import LocusInterventions
import LocusModel
import LocusTensor

/// When the v* optimisation stops before `steps` evaluations.
public enum ROMEEarlyStop: String, Sendable, Equatable, Codable, CaseIterable {
    /// ROME: stop as soon as the *total* loss (NLL + KL + weight decay) is below `stopLoss`,
    /// checked before the update (kmeng01/rome `rome/compute_v.py` L144–151, commit 0874014).
    case totalLoss = "total-loss"
    /// google/belief-localization's ROME (`third_party/rome/compute_v.py` L156–162): its
    /// patience counter is reset to 0 whenever it is below 5, so it never reaches 5 and the
    /// optimisation always runs every step. Available to reproduce Hase et al.'s edits.
    case never
}

/// Which key the rank-one update divides by.
public enum ROMEUpdateKey: String, Sendable, Equatable, Codable, CaseIterable {
    /// ROME: u = C⁻¹k̄/‖C⁻¹k̄‖ with k̄ the key averaged over the context prefixes
    /// (`rome/compute_u.py` L80–90, L108–120), and the right vector δ/(k₀·u) with k₀ the key of
    /// the unprefixed prompt (`rome/compute_v.py` L168–181, `get_module_input_output_at_word`
    /// with `context_template=request["prompt"]`); `rome/rome_main.py` L117–121 adds u·rightᵀ.
    /// So ΔW = δ (C⁻¹k̄)ᵀ / ((C⁻¹k̄)ᵀ k₀) and W′k₀ = W k₀ + δ exactly.
    case prompt
    /// Locus's earlier form (METHODS.md §7 as first written): k̄ in the denominator too, so
    /// W′k̄ = W k̄ + δ exactly instead.
    case averaged
}

/// ROME's settings (Meng et al. 2022; defaults from kmeng01/rome `hparams/ROME/gpt2-xl.json`).
public struct ROMEHyperparameters: Sendable, Equatable, Codable {
    public var layer: Int
    /// Generated context prefixes (the unprefixed prompt is always added). ROME uses 20
    /// (`context_template_length_params` [[5, 10], [10, 10]]).
    public var contextCount: Int = 20
    /// Seed of the prefixes' random choices (sampled: the top-k draws; greedy: the words).
    public var contextSeed: UInt64 = 0
    /// How the prefixes are made: sampled as ROME does (default) or Locus's greedy rule.
    public var contextStyle: ContextPrefixStyle = .sampled
    /// `v_num_grad_steps`: loss evaluations. As in ROME (`compute_v.py` L96, L153–154) the
    /// last evaluation takes no step, so at most `steps − 1` Adam updates are made.
    public var steps: Int = 20
    /// `v_lr`.
    public var learningRate: Double = 0.5
    /// `kl_factor`: λ of KL(p_δ ‖ p₀) on "{subject} is a" at its last subject token.
    public var klFactor: Double = 0.0625
    /// `v_weight_decay`: weight of ‖δ‖ / ‖v_init‖² (the norm, not its square; `compute_v.py`
    /// L140–143).
    public var weightDecay: Double = 0.5
    /// `clamp_norm_factor`: ‖δ‖ ≤ clampFactor · ‖v_init‖ after every update (L160–164).
    public var clampFactor: Double = 4
    /// The early-stop threshold (ROME: `loss < 5e-2`).
    public var stopLoss: Double = 0.05
    public var earlyStop: ROMEEarlyStop = .totalLoss
    public var updateKey: ROMEUpdateKey = .prompt

    public init(layer: Int) { self.layer = layer }
}

/// What an edit did, with the numbers needed to report and undo it.
public struct ROMEResult: Sendable {
    public var layer: Int
    /// k̄: (F) the key averaged over the contexts (the direction C⁻¹k̄ of the update).
    public var key: [Float]
    /// k₀: (F) the key of the unprefixed prompt.
    public var promptKey: [Float]
    /// δ*: (C) the optimised change of the MLP output.
    public var delta: [Float]
    /// The target NLL per loss evaluation.
    public var losses: [Double]
    /// NLL + λ·KL + weight decay per loss evaluation (what ROME prints and stops on).
    public var totalLosses: [Double]
    /// Adam updates made.
    public var updates: Int
    public var klLast: Double
    public var contexts: [String]
    public var seconds: Double
}

/// The v* optimisation's trajectory.
public struct DeltaOptimization: Sendable {
    /// δ*: (C).
    public var delta: [Float]
    /// v_init: (C) the MLP output at the unprefixed prompt's last subject token.
    public var initialValue: [Float]
    public var losses: [Double]
    public var totalLosses: [Double]
    public var kl: [Double]
    public var updates: Int
}

/// Rank-one model editing (METHODS.md §7), following kmeng01/rome (commit 0874014).
///
/// k̄ = mean over contexts c of the MLP key at the last subject token of "c. prompt"
/// (`compute_u.py` L80–90); k₀ = the key of the unprefixed prompt.
/// δ* = argmin over δ (added to the MLP output at the last subject token of every rewriting
/// prompt and of the KL prompt, `compute_v.py` L76–89) of
///
///     L(δ) = mean_c NLL(target | c. prompt) + λ·KL(p_δ ‖ p₀) + wd·‖δ‖/‖v_init‖²
///
/// where the NLL is averaged over the target's tokens (L135–136), KL is
/// `kl_div(init_log_probs, current_log_probs, log_target=True)` = Σ p_δ (log p_δ − log p₀) at
/// the last subject token of "{subject} is a" (L36–39, L57–62, L112–122, L137–139), and v_init is the MLP
/// output at the unprefixed prompt's last subject token before δ (L80–84). Adam (lr, β =
/// (0.9, 0.999), ε = 1e-8), at most `steps` loss evaluations and `steps − 1` updates; early
/// stop on the total loss (L144–154); after each update ‖δ‖ is clamped to
/// clampFactor·‖v_init‖ (L160–164).
/// Update (`ROMEUpdateKey.prompt`, ROME): W += δ (C⁻¹k̄)ᵀ / ((C⁻¹k̄)ᵀ k₀), so W′k₀ = W k₀ + δ.
///
/// Context prefixes: sampled from "<|endoftext|>" as ROME does (`ContextPrefixStyle.sampled`,
/// seeded), or Locus's earlier greedy rule (`.greedy`).
/// Departures from ROME (each listed in docs/results/editing.md): C is estimated on wikitext-2 (not 100k Wikipedia samples) and solved by
/// Cholesky instead of `torch.inverse`; the NLL is taken from the model's own logits (ROME's
/// `v_loss_layer` is the last layer, so the same).
///
/// The KL gradient is exact: every vocabulary token of the KL row is a target with
/// ∂L/∂log p_j = λ·p_j(log p_j − log p₀_j) (the "+1" of d(p log p) sums to a multiple of
/// Σp_j = 1 and cancels through the log-softmax), so the backward pass forms
/// λ·p_i(log p_i − log p₀_i − KL) on the logits.
public final class ROMEEditor {
    public let languageModel: LanguageModel
    public var model: DecoderModel { languageModel.model }
    private var contextCache: [String: [String]] = [:]
    private var choleskyCache: [Int: [Double]] = [:]

    public init(languageModel: LanguageModel) { self.languageModel = languageModel }

    /// The context prefixes (generated once per count, seed and style, with the model as it
    /// is at the first call).
    public func contexts(
        count: Int, seed: UInt64, style: ContextPrefixStyle = .sampled
    ) throws -> [String] {
        let key = "\(style.rawValue):\(count):\(seed)"
        if let cached = contextCache[key] { return cached }
        let made = try ContextPrefixes.generate(languageModel, count: count, seed: seed, style: style)
        contextCache[key] = made
        return made
    }

    /// "prompt" and "c. prompt" for each context c (ROME's `["{}"] + [x + ". {}"]`,
    /// `rome_main.py` L154–172).
    static func prefixed(_ text: String, contexts: [String]) -> [String] {
        [text] + contexts.map { $0 + ". " + text }
    }

    /// k̄ (the mean `.mlpHidden(layer:)` at the last subject token over the prefixed prompts)
    /// and k₀ (the same at the unprefixed prompt, the first of them).
    public func keys(
        _ request: EditRequest, layer: Int, contexts: [String]
    ) throws -> (mean: [Float], prompt: [Float]) {
        let positions = try Self.prefixed(request.prompt, contexts: contexts).map {
            try SubjectPosition(text: $0, subject: request.subject, tokenizer: languageModel.tokenizer)
        }
        let site = ActivationSite.mlpHidden(layer: layer)
        let recorder = ActivationRecorder(sites: [site], positions: .all)
        _ = try model.forward(positions.map(\.tokens), hooks: [recorder], logits: .none)
        let f = model.config.intermediateSize
        var mean = [Float](repeating: 0, count: f)
        for (s, p) in positions.enumerated() {
            let k = recorder.vector(at: site, sequence: s, position: p.lastSubjectToken)!
            for i in 0..<f { mean[i] += k[i] / Float(positions.count) }
        }
        let first = recorder.vector(at: site, sequence: 0, position: positions[0].lastSubjectToken)!
        return (mean, first)
    }

    /// k̄ alone.
    public func key(_ request: EditRequest, layer: Int, contexts: [String]) throws -> [Float] {
        try keys(request, layer: layer, contexts: contexts).mean
    }

    /// Optimises δ for a request (tokenizes, then `optimizeDelta`).
    public func delta(
        _ request: EditRequest, hyper: ROMEHyperparameters, contexts: [String]
    ) throws -> DeltaOptimization {
        let tokenizer = languageModel.tokenizer
        let target = request.targetTokens(tokenizer)
        guard !target.isEmpty else { throw EditError("empty target '\(request.target)'") }
        let rewrites = try Self.prefixed(request.prompt, contexts: contexts).map {
            try SubjectPosition(text: $0, subject: request.subject, tokenizer: tokenizer)
        }
        let klPrompt = try SubjectPosition(
            text: request.subject + " is a", subject: request.subject, tokenizer: tokenizer)
        return try optimizeDelta(rewrites: rewrites, klPrompt: klPrompt, target: target, hyper: hyper)
    }

    /// The v* optimisation on token ids (see the type's documentation for the objective).
    /// `rewrites[0]` must be the unprefixed prompt (v_init is read there).
    public func optimizeDelta(
        rewrites: [SubjectPosition], klPrompt: SubjectPosition, target: [Int],
        hyper: ROMEHyperparameters
    ) throws -> DeltaOptimization {
        let config = model.config
        let c = config.hiddenSize, v = config.vocabularySize, l = hyper.layer
        guard !target.isEmpty, !rewrites.isEmpty else { throw EditError("empty target or no prompts") }
        var inputs = rewrites.map { $0.tokens + target.dropLast() }
        inputs.append(klPrompt.tokens)
        let positions: [Int?] = rewrites.map(\.lastSubjectToken) + [klPrompt.lastSubjectToken]
        var targets: [TokenTarget] = []
        for (s, r) in rewrites.enumerated() {
            for (k, token) in target.enumerated() {
                targets.append(TokenTarget(sequence: s, position: r.tokens.count - 1 + k, token: token))
            }
        }
        let nllCount = targets.count
        let klSequence = rewrites.count
        for token in 0..<v {
            targets.append(TokenTarget(sequence: klSequence, position: klPrompt.lastSubjectToken, token: token))
        }
        let site = ActivationSite.mlpOut(layer: l)

        // v_init: the MLP output at the unprefixed prompt's last subject token.
        let recorder = ActivationRecorder(sites: [site], positions: .indices([rewrites[0].lastSubjectToken]))
        _ = try model.forward([rewrites[0].tokens], hooks: [recorder], logits: .none)
        let vInit = recorder.vector(at: site, position: rewrites[0].lastSubjectToken)!
        let vInitNormSquared = vInit.reduce(0.0) { $0 + Double($1) * Double($1) }
        let maxNorm = hyper.clampFactor * vInitNormSquared.squareRoot()

        let hook = PositionedAddition(site: site, vector: [Float](repeating: 0, count: c), positions: positions)
        var adam = AdamW(parameterCount: c)
        var delta = [Float](repeating: 0, count: c)
        var logP0: [Float] = []
        var losses: [Double] = [], totals: [Double] = [], kls: [Double] = []
        let tape = ForwardTape()
        let perNLL = -1 / Double(rewrites.count * target.count)
        for step in 0..<hyper.steps {
            hook.vector = delta
            let logp = try model.forwardForTraining(inputs, targets: targets, hooks: [hook], tape: tape)
            let nll = logp[0..<nllCount].reduce(0.0) { $0 + Double($1) } * perNLL
            if step == 0 { logP0 = Array(logp[nllCount...]) }
            // KL(p_δ ‖ p₀) = Σ p (log p − log p₀) and its ∂/∂log p (without the +1, see above).
            var kl = 0.0
            var klGradient = [Float](repeating: 0, count: v)
            for j in 0..<v {
                let lp = Double(logp[nllCount + j]), p = Foundation.exp(lp)
                let d = lp - Double(logP0[j])
                kl += p * d
                klGradient[j] = Float(hyper.klFactor * p * d)
            }
            let norm = delta.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let total = nll + hyper.klFactor * kl + hyper.weightDecay * norm / vInitNormSquared
            losses.append(nll)
            totals.append(total)
            kls.append(kl)
            if hyper.earlyStop == .totalLoss, total < hyper.stopLoss { break }
            if step == hyper.steps - 1 { break }
            let g = [Float](repeating: Float(perNLL), count: nllCount) + klGradient
            let grads = model.backward(tape, logProbabilityGradients: g, sites: [site])
            let siteGradient = grads.sites[site]!
            var dDelta = [Float](repeating: 0, count: c)
            for (s, p) in positions.enumerated() {
                let r = grads.sequences[s].row(ofPosition: p!)!
                for i in 0..<c { dDelta[i] += siteGradient[r * c + i] }
            }
            // ∂(wd·‖δ‖/‖v_init‖²)/∂δ = wd·δ/(‖δ‖·‖v_init‖²); 0 at δ = 0 (torch's norm subgradient).
            if norm > 0 {
                let scale = Float(hyper.weightDecay / (norm * vInitNormSquared))
                for i in 0..<c { dDelta[i] += scale * delta[i] }
            }
            adam.update(&delta, gradient: dDelta, learningRate: hyper.learningRate)
            let newNorm = delta.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            if newNorm > maxNorm {
                let s = Float(maxNorm / newNorm)
                for i in 0..<c { delta[i] *= s }
            }
        }
        return DeltaOptimization(
            delta: delta, initialValue: vInit, losses: losses, totalLosses: totals, kl: kls,
            updates: adam.step)
    }

    /// C⁻¹k by Cholesky of the key statistics (factor cached per layer; a tiny ridge is added
    /// only if C is not numerically positive definite).
    public func solve(_ statistics: KeyStatistics, _ key: [Float]) throws -> [Double] {
        let n = statistics.width
        if choleskyCache[statistics.layer] == nil {
            var a = statistics.secondMoment
            var factor = LinearAlgebra.cholesky(a, n: n)
            var ridge = 1e-8 * (0..<n).reduce(0.0) { $0 + a[$1 * n + $1] } / Double(n)
            while factor == nil, ridge < 1 {
                for i in 0..<n { a[i * n + i] += ridge }
                factor = LinearAlgebra.cholesky(a, n: n)
                ridge *= 10
            }
            guard let factor else { throw EditError("key statistics are not positive definite") }
            choleskyCache[statistics.layer] = factor
        }
        return LinearAlgebra.choleskySolve(choleskyCache[statistics.layer]!, n: n, key.map(Double.init))
    }

    /// Adds δ uᵀ to the MLP output projection W (`LayerWeights.mlpOutputProjection`, (C, F) in
    /// (out, in) layout in every family; GPT-2's Conv1D `c_proj` was transposed at load, where
    /// kmeng01/rome transposes the update instead: `rome/rome_main.py` L97–103 at commit 158b981,
    /// `upd_matrix_match_shape`, "GPT-2 and GPT-J have transposed weight representations") of `layer` with u = C⁻¹k̄ / ((C⁻¹k̄)ᵀ k_den): `inverseKey` = C⁻¹k̄,
    /// `denominatorKey` = k₀ (ROME) or k̄ (`ROMEUpdateKey.averaged`). ROME normalises u to unit
    /// length first (`compute_u.py` L120) and divides δ by k₀·u (`compute_v.py` L181); the
    /// normalisation cancels, giving the same matrix.
    public func applyRankOne(layer: Int, delta: [Float], denominatorKey: [Float], inverseKey: [Double]) {
        let c = model.config.hiddenSize, f = model.config.intermediateSize
        let denominator = zip(inverseKey, denominatorKey).reduce(0.0) { $0 + $1.0 * Double($1.1) }
        let u = inverseKey.map { Float($0 / denominator) }
        let w = model.weights.layers[layer].mlpOutputProjection.makeDense().pointer  // (C, F), (out, in)
        for i in 0..<c {
            let d = delta[i], row = w + i * f
            for j in 0..<f { row[j] += d * u[j] }
        }
    }

    /// Refuses a layer ROME's solve does not apply to: one outside the model, or one whose MLP
    /// output is normalised after the projection (Gemma-3's post-MLP norm), where the optimised
    /// change δ of `.mlpOut` is not W′k₀ − W k₀ for any W′ (FT-L, a gradient method, still applies).
    public static func checkEditable(_ model: DecoderModel, layer: Int) throws {
        guard layer >= 0, layer < model.config.layerCount else {
            throw EditError("layer \(layer) does not exist: the model has \(model.config.layerCount) layers")
        }
        guard model.mlpOutputIsLinear(layer: layer) else {
            throw EditError(
                "ROME cannot edit layer \(layer) of this \(model.config.family.displayName) model: a norm"
                    + " follows its MLP output projection, so the optimised MLP output change δ is not"
                    + " reachable by a rank-one change of that projection (use FT-L)")
        }
    }

    /// The whole edit. Returns the backup that undoes it and what was computed.
    public func edit(
        _ request: EditRequest, hyper: ROMEHyperparameters, statistics: KeyStatistics
    ) throws -> (backup: WeightBackup, result: ROMEResult) {
        precondition(statistics.layer == hyper.layer, "statistics of another layer")
        try Self.checkEditable(model, layer: hyper.layer)
        let start = Date()
        let contexts = try self.contexts(
            count: hyper.contextCount, seed: hyper.contextSeed, style: hyper.contextStyle)
        let (key, promptKey) = try self.keys(request, layer: hyper.layer, contexts: contexts)
        let optimized = try self.delta(request, hyper: hyper, contexts: contexts)
        let inverseKey = try solve(statistics, key)
        let backup = WeightBackup(model: model, layers: [hyper.layer])
        applyRankOne(
            layer: hyper.layer, delta: optimized.delta,
            denominatorKey: hyper.updateKey == .prompt ? promptKey : key, inverseKey: inverseKey)
        return (
            backup,
            ROMEResult(
                layer: hyper.layer, key: key, promptKey: promptKey, delta: optimized.delta,
                losses: optimized.losses, totalLosses: optimized.totalLosses,
                updates: optimized.updates, klLast: optimized.kl.last ?? 0,
                contexts: contexts, seconds: Date().timeIntervalSince(start))
        )
    }
}
