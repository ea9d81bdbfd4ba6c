import Foundation
import LocusCore
import LocusData
import LocusInterventions
import LocusModel
import LocusTokenizer

/// Everything that defines a steering run; stored in its record so it can be reproduced.
public struct SteeringConfiguration: Codable, Equatable, Sendable {
    /// The head selection as given (`L12H3,…`, `all`, `random:K:SEED`, `top:K:FILE`).
    public var headSelection: String
    public var heads: [AttentionHead]
    /// The text the pairs are in (default: TruthfulQA's MC evaluation prompt).
    public var promptTemplate: SteeringPromptTemplate
    public var parameterization: SteeringParameterization
    public var positions: SteeringPositions
    public var objective: PreferenceObjective
    /// Use mean instead of summed answer-token log-probs (TRL does this for IPO).
    public var lengthNormalized: Bool
    public var learningRate: Double
    public var weightDecay: Double
    public var epochs: Int
    public var batchSize: Int
    /// Global L2 norm the gradient is clipped to; nil for no clipping.
    public var gradientClipNorm: Double?
    public var warmupSteps: Int
    public var seed: UInt64
    /// The block whose output a `residual` edit is added to (nil for the per-head forms).
    public var residualLayer: Int?

    public init(
        headSelection: String, heads: [AttentionHead], promptTemplate: SteeringPromptTemplate = .truthfulQA,
        parameterization: SteeringParameterization = .headVectors,
        positions: SteeringPositions = .afterPrefix, objective: PreferenceObjective = .ipo(tau: 0.1),
        lengthNormalized: Bool = false, learningRate: Double = 5e-4, weightDecay: Double = 0,
        epochs: Int = 2, batchSize: Int = 4, gradientClipNorm: Double? = 1.0,
        warmupSteps: Int = 0, seed: UInt64 = 0, residualLayer: Int? = nil
    ) {
        self.residualLayer = residualLayer
        self.headSelection = headSelection
        self.heads = heads
        self.promptTemplate = promptTemplate
        self.parameterization = parameterization
        self.positions = positions
        self.objective = objective
        self.lengthNormalized = lengthNormalized
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.epochs = epochs
        self.batchSize = batchSize
        self.gradientClipNorm = gradientClipNorm
        self.warmupSteps = warmupSteps
        self.seed = seed
    }

    /// METHODS.md's defaults: lr 1e-4 for all heads, 5e-4 for a set of heads, 2e-3 for one head.
    public static func defaultLearningRate(headCount: Int, totalHeads: Int) -> Double {
        headCount == 1 ? 2e-3 : headCount >= totalHeads ? 1e-4 : 5e-4
    }
}

/// A preference pair as token ids (the prompt and each answer tokenized separately). `prompt` is
/// the part after the trainer's shared prefix (with the TruthfulQA template: "\n\nQ: …\nA:").
public struct TokenizedPair: Sendable, Equatable, Codable {
    public var prompt: [Int]
    public var chosen: [Int]
    public var rejected: [Int]
    public var group: Int

    public init(prompt: [Int], chosen: [Int], rejected: [Int], group: Int) {
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
        self.group = group
    }

    public init(_ pair: PreferencePair, tokenizer: any Tokenizer) {
        self.init(
            prompt: tokenizer.encodePrompt(pair.prompt),
            chosen: tokenizer.encodeContinuation(pair.chosen),
            rejected: tokenizer.encodeContinuation(pair.rejected), group: pair.group)
    }
}

/// log π(y⁺|x) and log π(y⁻|x) of one pair (summed or length-normalised).
public struct PairLogProbabilities: Codable, Equatable, Sendable {
    public var chosen: Double
    public var rejected: Double

    public init(chosen: Double, rejected: Double) {
        self.chosen = chosen
        self.rejected = rejected
    }
}

/// Loss, mean margin and preference accuracy (share of pairs with h > 0) over a set of pairs.
public struct PreferenceMetrics: Codable, Equatable, Sendable {
    public var loss: Double
    public var margin: Double
    public var accuracy: Double
}

public enum SteeringError: Error, CustomStringConvertible {
    case nonFinite(step: Int, what: String)
    /// An update made a parameter larger in magnitude than `SteeringTrainer.maximumMagnitude`.
    case diverged(step: Int, magnitude: Double)
    case emptyAnswer(pair: Int)
    case emptyPrompt(pair: Int)
    case noPairs
    /// The validation split is empty: no metric could show what training did.
    case noValidationPairs

    public var description: String {
        switch self {
        case .nonFinite(let step, let what):
            "training stopped at step \(step): \(what) is not finite (NaN or ±∞); "
                + "the parameters of the last good step are kept — lower the learning rate"
        case .diverged(let step, let magnitude):
            "training stopped at step \(step): a parameter reached |θ| = \(String(format: "%.3g", magnitude)) "
                + "(> \(String(format: "%.0e", SteeringTrainer.maximumMagnitude)), training has diverged); "
                + "the parameters of the last good step are kept — lower the learning rate"
        case .emptyAnswer(let i): "pair \(i) has an empty answer after tokenization"
        case .emptyPrompt(let i): "pair \(i) has an empty prompt after the shared prefix (its first answer token would be predicted inside the cached prefix)"
        case .noPairs: "no preference pairs to train on"
        case .noValidationPairs:
            "the validation split has no preference pairs (too few groups in the data for a 60/20/20 split?): "
                + "nothing could measure the training"
        }
    }
}

/// Trains steering parameters with a preference objective; gradients flow only to them.
public final class SteeringTrainer {
    /// Largest |θ| an update may produce. Head outputs z are of order one, so an edit 10⁴ times
    /// larger has left the regime where it steers and only saturates the model;
    /// a huge learning rate gets there in one Adam step (|Δθ| ≈ lr), well before any value
    /// overflows. Reaching it stops training like a non-finite value (issue 10: `--lr 1e9`
    /// used to "complete" with |θ| ≈ 2e9).
    public static let maximumMagnitude: Float = 1e4

    public let model: DecoderModel
    public let configuration: SteeringConfiguration
    public internal(set) var parameters: SteeringParameters
    public internal(set) var optimizer: AdamW
    /// The parameters at which the last finite loss and gradient were computed: after a
    /// `SteeringError.nonFinite`, the last parameters known to give finite log-probs (the
    /// current `parameters` may be the update that made them non-finite). nil before any step.
    public internal(set) var lastFiniteParameters: SteeringParameters?
    let tape = ForwardTape()

    /// Tokens every pair's sequence starts with (the template's shared prefix, tokenized on its
    /// own as the evaluators do); targets and edit positions are absolute, counted from its start.
    public let sharedPrefix: [Int]
    /// Whether training continues one unedited, cached copy of the shared prefix instead of
    /// running it with every pair (possible when the positions never edit it). Setting it to
    /// false gives the same numbers (up to float rounding) at the cost of the prefix's length
    /// per sequence; tests compare the two.
    public var reusesPrefixCache = true
    private var prefixCache: KVCache?
    /// Whether each pair's prompt is run once, with both answers continuing it in the same pass
    /// (`DecoderModel.forwardForTraining(continuing:)`; the gradient of the answers' attention to
    /// the prompt flows back into the prompt's rows), instead of once with each answer. Setting
    /// it to false gives the same numbers (up to float rounding) at the cost of the prompt's
    /// length per pair; tests compare the two.
    public var sharesPairPrompts = true
    /// Whether log-probs under a fixed edit (π₀, validation) score each distinct (prompt,
    /// answer) once and share it among the pairs containing it (`SteeringTrainer+FixedEdit`),
    /// instead of running every pair; needs `sharesPairPrompts`. Setting it to false gives the
    /// same numbers (up to float rounding) at ≈ 5× the rows on TruthfulQA's pairs; tests compare
    /// the two.
    public var scoresDistinctAnswers = true

    /// - sharedPrefix: the template's shared prefix tokens (`configuration.promptTemplate`'s
    ///   `sharedPrefix` through the model's tokenizer; empty for the bare template).
    public init(
        model: DecoderModel, configuration: SteeringConfiguration, parameters: SteeringParameters? = nil,
        sharedPrefix: [Int] = []
    ) {
        self.model = model
        self.configuration = configuration
        self.sharedPrefix = sharedPrefix
        let initial =
            parameters
            ?? (configuration.parameterization == .residual
                ? SteeringParameters(residualLayer: configuration.residualLayer ?? 0, width: model.config.hiddenSize)
                : SteeringParameters(
                    parameterization: configuration.parameterization, heads: configuration.heads,
                    headWidth: model.config.headWidth, seed: configuration.seed))
        self.parameters = initial
        optimizer = AdamW(parameterCount: initial.values.count, weightDecay: configuration.weightDecay)
    }

    /// Whether this batch layout continues the cached shared prefix.
    var continuesCachedPrefix: Bool {
        reusesPrefixCache && !sharedPrefix.isEmpty && !configuration.positions.editsSharedPrefix
    }

    /// The shared prefix's keys and values, computed once without any edit.
    func cachedPrefix() throws -> KVCache {
        if let prefixCache { return prefixCache }
        let cache = KVCache(config: model.config, sequences: 1, capacity: sharedPrefix.count)
        _ = try model.forward([sharedPrefix], cache: cache, logits: .none)
        prefixCache = cache
        return cache
    }

    /// Sequences, targets and prompt lengths of a batch: for each pair, x+y⁺ then x+y⁻, where
    /// x = shared prefix + the pair's prompt. Positions are absolute (from the shared prefix's
    /// first token); when the cached prefix is continued, the sequences hold only the tokens
    /// after it. `prompts` are absolute prompt lengths (shared prefix + prompt).
    ///
    /// With `sharesPairPrompts`, each pair is instead x (predicting both answers' first tokens
    /// at its last row), then y⁺ and y⁻ without their last tokens (which predict nothing), each
    /// continuing x (`continuing`); `prompts` then has one entry per sequence too, the pair's.
    func layout(
        _ pairs: [TokenizedPair]
    ) -> (tokens: [[Int]], targets: [TokenTarget], spans: [Range<Int>], prompts: [Int], continuing: [Int?]) {
        let p = sharedPrefix.count
        let lead = continuesCachedPrefix ? [] : sharedPrefix
        var tokens: [[Int]] = [], targets: [TokenTarget] = [], spans: [Range<Int>] = [], prompts: [Int] = []
        var continuing: [Int?] = []
        if sharesPairPrompts {
            var built = SequenceLayout()
            for pair in pairs {
                let promptLength = p + pair.prompt.count
                let x = built.appendPrompt(pair.prompt, lead: lead, promptLength: promptLength)
                for answer in [pair.chosen, pair.rejected] {
                    spans.append(built.appendAnswer(answer, continuing: x, promptLength: promptLength))
                }
            }
            return (built.tokens, built.targets, spans, built.prompts, built.continuing)
        }
        for pair in pairs {
            for answer in [pair.chosen, pair.rejected] {
                let s = tokens.count
                tokens.append(lead + pair.prompt + answer)
                let promptLength = p + pair.prompt.count
                prompts.append(promptLength)
                let first = targets.count
                for (i, token) in answer.enumerated() {
                    targets.append(TokenTarget(sequence: s, position: promptLength - 1 + i, token: token))
                }
                spans.append(first..<targets.count)
                continuing.append(nil)
            }
        }
        return (tokens, targets, spans, prompts, continuing)
    }

    /// The edit's hooks for a batch with these absolute prompt lengths (the one position rule,
    /// `SteeringPositions.positions(prefixLength:promptLengths:)`, that evaluation uses too).
    func hooks(promptLengths: [Int]) -> [SteeringHook] {
        parameters.hooks(
            positions: configuration.positions.positions(prefixLength: sharedPrefix.count, promptLengths: promptLengths))
    }

    /// One training forward of a batch layout (continuing the cached prefix when it can).
    func forward(
        _ tokens: [[Int]], targets: [TokenTarget], hooks: [ActivationHook], continuing: [Int?]
    ) throws -> [Float] {
        let prefix = continuesCachedPrefix ? try cachedPrefix() : nil
        return try model.forwardForTraining(
            tokens, targets: targets, hooks: hooks, tape: tape, prefix: prefix, continuing: continuing)
    }

    func sequenceScores(_ logProbabilities: [Float], spans: [Range<Int>]) -> [Double] {
        spans.map { span in
            let sum = span.reduce(0.0) { $0 + Double(logProbabilities[$1]) }
            return configuration.lengthNormalized ? sum / Double(span.count) : sum
        }
    }

    /// Log-probs of the pairs under the model with the current edit (or none, for π₀).
    /// `progress(done, total)` is called after every batch (pairs done so far, all pairs).
    public func logProbabilities(
        _ pairs: [TokenizedPair], steered: Bool, progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> [PairLogProbabilities] {
        // An identity edit (a fresh one: zero vectors) adds exact zeros: the unedited model.
        let steered = steered && !parameters.isIdentity
        if scoresDistinctAnswers && sharesPairPrompts {
            return try logProbabilitiesOfDistinctAnswers(pairs, steered: steered, progress: progress)
        }
        var out: [PairLogProbabilities] = []
        let size = max(1, configuration.batchSize)
        for start in stride(from: 0, to: pairs.count, by: size) {
            let batch = Array(pairs[start..<min(start + size, pairs.count)])
            let (tokens, targets, spans, prompts, continuing) = layout(batch)
            let hooks: [ActivationHook] = steered ? self.hooks(promptLengths: prompts) : []
            let lp = try forward(tokens, targets: targets, hooks: hooks, continuing: continuing)
            let scores = sequenceScores(lp, spans: spans)
            for i in 0..<batch.count { out.append(PairLogProbabilities(chosen: scores[2 * i], rejected: scores[2 * i + 1])) }
            progress(out.count, pairs.count)
        }
        return out
    }

    /// Margins h and metrics of the steered model against reference log-probs.
    public func evaluate(
        _ pairs: [TokenizedPair], reference: [PairLogProbabilities], progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> PreferenceMetrics {
        guard !pairs.isEmpty else { throw SteeringError.noPairs }
        let steered = try logProbabilities(pairs, steered: true, progress: progress)
        return Self.metrics(steered: steered, reference: reference, objective: configuration.objective)
    }

    /// Whether `candidate` gives finite values and finite log-probs on `pairs` (a check before
    /// parameters are saved: finite parameters can still overflow the forward pass).
    public func givesFiniteLogProbabilities(_ candidate: SteeringParameters, on pairs: [TokenizedPair]) throws -> Bool {
        guard candidate.values.allSatisfy(\.isFinite) else { return false }
        let saved = parameters
        parameters = candidate
        defer { parameters = saved }
        return try logProbabilities(pairs, steered: true).allSatisfy { $0.chosen.isFinite && $0.rejected.isFinite }
    }

    /// The batch loss, mean margin and ∂loss/∂θ at the current parameters.
    func lossAndGradient(
        _ batch: [TokenizedPair], reference: [PairLogProbabilities]
    ) throws -> (loss: Double, margin: Double, gradient: [Float]) {
        let (tokens, targets, spans, prompts, continuing) = layout(batch)
        let hooks = self.hooks(promptLengths: prompts)
        let lp = try forward(tokens, targets: targets, hooks: hooks, continuing: continuing)
        let scores = sequenceScores(lp, spans: spans)
        let b = Double(batch.count)
        var loss = 0.0, margin = 0.0
        var upstream = [Float](repeating: 0, count: targets.count)
        for i in 0..<batch.count {
            let h = (scores[2 * i] - reference[i].chosen) - (scores[2 * i + 1] - reference[i].rejected)
            let (value, dh) = configuration.objective.loss(margin: h)
            loss += value / b
            margin += h / b
            for (sign, span) in [(1.0, spans[2 * i]), (-1.0, spans[2 * i + 1])] {
                let scale = configuration.lengthNormalized ? 1 / Double(span.count) : 1
                for t in span { upstream[t] = Float(sign * dh * scale / b) }
            }
        }
        let gradients = model.backward(tape, logProbabilityGradients: upstream, sites: parameters.gradientSites)
        return (loss, margin, parameters.gradient(from: gradients, hooks: hooks))
    }

    /// ∂loss/∂θ of a batch at the current parameters (no update).
    public func lossGradient(_ batch: [TokenizedPair], reference: [PairLogProbabilities]) throws -> [Float] {
        try lossAndGradient(batch, reference: reference).gradient
    }

    /// One optimiser step on a batch; returns the batch loss, mean margin and gradient norm.
    /// Throws `SteeringError.nonFinite` (parameters untouched) when anything is NaN or ±∞.
    public func step(
        _ batch: [TokenizedPair], reference: [PairLogProbabilities], learningRate: Double,
        stepIndex: Int
    ) throws -> (loss: Double, margin: Double, gradientNorm: Double) {
        let (loss, margin, gradient) = try lossAndGradient(batch, reference: reference)
        var g = gradient
        guard loss.isFinite else { throw SteeringError.nonFinite(step: stepIndex, what: "the loss") }
        let norm = g.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        guard norm.isFinite else { throw SteeringError.nonFinite(step: stepIndex, what: "the gradient") }
        lastFiniteParameters = parameters
        if let clip = configuration.gradientClipNorm, norm > clip {
            let s = Float(clip / norm)
            for i in g.indices { g[i] *= s }
        }
        var updated = parameters.values
        var nextOptimizer = optimizer
        nextOptimizer.update(&updated, gradient: g, learningRate: learningRate)
        guard updated.allSatisfy(\.isFinite) else {
            throw SteeringError.nonFinite(step: stepIndex, what: "the updated parameters")
        }
        let largest = updated.reduce(Float(0)) { max($0, abs($1)) }
        guard largest <= Self.maximumMagnitude else {
            throw SteeringError.diverged(step: stepIndex, magnitude: Double(largest))
        }
        parameters.values = updated
        optimizer = nextOptimizer
        return (loss, margin, norm)
    }
}
