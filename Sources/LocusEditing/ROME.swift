import Foundation
import LocusInterventions
import LocusModel
import LocusTensor

/// ROME's settings (Meng et al. 2022; defaults from their GPT-2 XL configuration).
public struct ROMEHyperparameters: Sendable, Equatable, Codable {
    public var layer: Int
    /// Generated context prefixes (the unprefixed prompt is always added).
    public var contextCount: Int = 20
    public var contextSeed: UInt64 = 0
    public var steps: Int = 20
    public var learningRate: Double = 0.5
    /// λ of KL(p₀ ‖ p) on "{subject} is a" at the last subject token.
    public var klFactor: Double = 0.0625
    /// Weight of ‖δ‖² / ‖v_init‖².
    public var weightDecay: Double = 0.5
    /// ‖δ‖ ≤ clampFactor · ‖v_init‖.
    public var clampFactor: Double = 4
    /// Stop when the mean target NLL falls below this.
    public var stopLoss: Double = 0.05

    public init(layer: Int) { self.layer = layer }
}

/// What an edit did, with the numbers needed to report and undo it.
public struct ROMEResult: Sendable {
    public var layer: Int
    /// k*: (F) the key averaged over the contexts.
    public var key: [Float]
    /// δ*: (C) the optimised change of the MLP output.
    public var delta: [Float]
    /// The target NLL per optimisation step.
    public var losses: [Double]
    public var klLast: Double
    public var contexts: [String]
    public var seconds: Double
}

/// Rank-one model editing (METHODS.md §7).
///
/// k* = mean over contexts c of the MLP key at the last subject token of "c. prompt";
/// δ* = argmin of mean target NLL (δ added to the MLP output at the last subject token of every
/// rewriting prompt) + λ·KL + wd·‖δ‖²/‖v_init‖², Adam, clamped;
/// v* = W k* + δ* and W += (v* − W k*)(C⁻¹k*)ᵀ / ((C⁻¹k*)ᵀk*), so W′k* = W k* + δ* and any key
/// k moves by δ*·(C⁻¹k*)ᵀk/((C⁻¹k*)ᵀk*). (ROME's code uses the unprefixed prompt's k and Wk in
/// the right factor instead of the averaged ones; METHODS.md's form is used here.)
///
/// The KL gradient is exact: every vocabulary token of the KL row is a target whose
/// ∂loss/∂log p_j = −λ·p₀_j, so the backward pass forms λ(p − p₀) on the logits.
public final class ROMEEditor {
    public let languageModel: LanguageModel
    public var model: LlamaModel { languageModel.model }
    private var contextCache: [String: [String]] = [:]
    private var choleskyCache: [Int: [Double]] = [:]

    public init(languageModel: LanguageModel) { self.languageModel = languageModel }

    public func contexts(count: Int, seed: UInt64) throws -> [String] {
        let key = "\(count):\(seed)"
        if let cached = contextCache[key] { return cached }
        let made = try ContextPrefixes.generate(languageModel, count: count, seed: seed)
        contextCache[key] = made
        return made
    }

    /// "prompt" and "c. prompt" for each context c.
    static func prefixed(_ text: String, contexts: [String]) -> [String] {
        [text] + contexts.map { $0 + ". " + text }
    }

    /// k*: the mean `.mlpHidden(layer:)` at the last subject token over the prefixed prompts.
    public func key(
        _ request: EditRequest, layer: Int, contexts: [String]
    ) throws -> [Float] {
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
        return mean
    }

    /// Optimises δ (METHODS.md §7); returns δ*, the per-step NLL and the last KL.
    public func delta(
        _ request: EditRequest, hyper: ROMEHyperparameters, contexts: [String]
    ) throws -> (delta: [Float], losses: [Double], kl: Double) {
        let tokenizer = languageModel.tokenizer, config = model.config
        let c = config.hiddenSize, v = config.vocabularySize, l = hyper.layer
        let target = request.targetTokens(tokenizer)
        guard !target.isEmpty else { throw EditError("empty target '\(request.target)'") }
        let rewrites = try Self.prefixed(request.prompt, contexts: contexts).map {
            try SubjectPosition(text: $0, subject: request.subject, tokenizer: tokenizer)
        }
        let klPrompt = try SubjectPosition(
            text: request.subject + " is a", subject: request.subject, tokenizer: tokenizer)
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
        let vInitNormSquared = Double(vInit.reduce(0) { $0 + $1 * $1 })
        let maxNorm = hyper.clampFactor * vInitNormSquared.squareRoot()

        let hook = PositionedAddition(site: site, vector: [Float](repeating: 0, count: c), positions: positions)
        var adam = Adam(parameterCount: c)
        var delta = [Float](repeating: 0, count: c)
        var p0: [Float] = []
        var losses: [Double] = []
        var kl = 0.0
        let tape = ForwardTape()
        let perNLL = -1 / Double(rewrites.count * target.count)
        for step in 0..<hyper.steps {
            hook.vector = delta
            let logp = try model.forwardForTraining(inputs, targets: targets, hooks: [hook], tape: tape)
            let nll = logp[0..<nllCount].reduce(0.0) { $0 + Double($1) } * perNLL
            if step == 0 { p0 = logp[nllCount...].map { Foundation.exp($0) } }
            kl = 0
            for j in 0..<v where p0[j] > 0 {
                kl += Double(p0[j]) * (Foundation.log(Double(p0[j])) - Double(logp[nllCount + j]))
            }
            losses.append(nll)
            if nll < hyper.stopLoss { break }
            var g = [Float](repeating: Float(perNLL), count: nllCount)
            g += p0.map { Float(-hyper.klFactor) * $0 }
            let grads = model.backward(tape, logProbabilityGradients: g, sites: [site])
            let siteGradient = grads.sites[site]!
            var dDelta = [Float](repeating: 0, count: c)
            for (s, p) in positions.enumerated() {
                let r = grads.sequences[s].row(ofPosition: p!)!
                for i in 0..<c { dDelta[i] += siteGradient[r * c + i] }
            }
            for i in 0..<c { dDelta[i] += Float(2 * hyper.weightDecay / vInitNormSquared) * delta[i] }
            adam.update(&delta, gradient: dDelta, learningRate: hyper.learningRate)
            let norm = Double(delta.reduce(0) { $0 + $1 * $1 }).squareRoot()
            if norm > maxNorm {
                let s = Float(maxNorm / norm)
                for i in 0..<c { delta[i] *= s }
            }
        }
        return (delta, losses, kl)
    }

    /// C⁻¹k* by Cholesky of the key statistics (factor cached per layer; a tiny ridge is added
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

    /// Adds (v* − W k*)(C⁻¹k*)ᵀ/((C⁻¹k*)ᵀk*) = δ* uᵀ to W_down of `layer`, u = C⁻¹k*/((C⁻¹k*)ᵀk*).
    public func applyRankOne(layer: Int, delta: [Float], key: [Float], inverseKey: [Double]) {
        let c = model.config.hiddenSize, f = model.config.intermediateSize
        let denominator = zip(inverseKey, key).reduce(0.0) { $0 + $1.0 * Double($1.1) }
        let u = inverseKey.map { Float($0 / denominator) }
        let w = model.weights.layers[layer].down.pointer  // (C, F)
        for i in 0..<c {
            let d = delta[i], row = w + i * f
            for j in 0..<f { row[j] += d * u[j] }
        }
    }

    /// The whole edit. Returns the backup that undoes it and what was computed.
    public func edit(
        _ request: EditRequest, hyper: ROMEHyperparameters, statistics: KeyStatistics
    ) throws -> (backup: WeightBackup, result: ROMEResult) {
        precondition(statistics.layer == hyper.layer, "statistics of another layer")
        let start = Date()
        let contexts = try self.contexts(count: hyper.contextCount, seed: hyper.contextSeed)
        let key = try self.key(request, layer: hyper.layer, contexts: contexts)
        let (delta, losses, kl) = try self.delta(request, hyper: hyper, contexts: contexts)
        let inverseKey = try solve(statistics, key)
        let backup = WeightBackup(model: model, layers: [hyper.layer])
        applyRankOne(layer: hyper.layer, delta: delta, key: key, inverseKey: inverseKey)
        return (
            backup,
            ROMEResult(
                layer: hyper.layer, key: key, delta: delta, losses: losses, klLast: kl,
                contexts: contexts, seconds: Date().timeIntervalSince(start))
        )
    }
}
