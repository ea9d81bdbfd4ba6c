import Foundation
import LocusData
import LocusModel
import LocusTokenizer

extension SteeringPromptTemplate {
    /// Tokenizes rendered pairs (`render(_:)`) the way training and evaluation read them: the
    /// shared prefix once as the start of the input (`encodePrompt`, BOS first when the
    /// checkpoint adds one), each pair's prompt part as its continuation, each answer as the
    /// prompt's continuation. Without a shared prefix each prompt starts the input.
    public func tokenize(_ rendered: [PreferencePair], tokenizer: any Tokenizer) -> (sharedPrefix: [Int], pairs: [TokenizedPair]) {
        let prefix = sharedPrefix.isEmpty ? [] : tokenizer.encodePrompt(sharedPrefix)
        let pairs = rendered.map { pair in
            prefix.isEmpty
                ? TokenizedPair(pair, tokenizer: tokenizer)
                : TokenizedPair(
                    prompt: tokenizer.encodeContinuation(pair.prompt), chosen: tokenizer.encodeContinuation(pair.chosen),
                    rejected: tokenizer.encodeContinuation(pair.rejected), group: pair.group)
        }
        return (prefix, pairs)
    }
}

/// The score of a model, unedited or with a steering edit, on preference pairs (`locus eval
/// preferences`):
///
///     h_i = [log π(y⁺_i) − log π₀(y⁺_i)] − [log π(y⁻_i) − log π₀(y⁻_i)]
///     margin = mean h_i,  accuracy = share of pairs with log π(y⁺_i) > log π(y⁻_i),
///     loss = mean ℓ(h_i) for the edit's objective ℓ (IPO or DPO)
///
/// π₀ is the unedited model; without an edit π = π₀, so h = 0 and the accuracy is π₀'s.
public struct PreferenceScore: Codable, Equatable, Sendable {
    public var pairs: Int
    public var accuracy: Double
    public var margin: Double
    /// Standard error of the margin over pairs (sample standard deviation / √N; 0 for N = 1).
    public var marginStandardError: Double
    /// nil when no objective is known (no edit and none given).
    public var loss: Double?
    /// π₀'s accuracy on the same pairs.
    public var referenceAccuracy: Double
    /// Share of pairs with h > 0 (the edit moved the pair towards y⁺).
    public var shareImproved: Double
    /// Mean log π(y⁺) and log π(y⁻) (summed or length-normalised as scored).
    public var meanChosenLogProbability: Double
    public var meanRejectedLogProbability: Double
    /// Answer tokens scored (both answers of every pair).
    public var answerTokens: Int
}

/// Scores preference pairs under a model with and without a steering edit, with the edit's own
/// positions rule and answer scoring (library side of `locus eval preferences`).
public struct PreferenceEvaluator {
    public let model: DecoderModel
    /// Tokens every pair starts with (`SteeringPromptTemplate.tokenize`).
    public var sharedPrefix: [Int]
    public var lengthNormalized: Bool
    public var batchSize: Int

    /// Which pass a progress report is about.
    public enum Pass: String, Sendable { case reference = "π₀", steered = "π" }

    public init(model: DecoderModel, sharedPrefix: [Int], lengthNormalized: Bool = false, batchSize: Int = 4) {
        self.model = model
        self.sharedPrefix = sharedPrefix
        self.lengthNormalized = lengthNormalized
        self.batchSize = max(1, batchSize)
    }

    /// Scores `pairs`: one π₀ pass, and a second pass with `edit` at `positions` when given.
    /// `objective` gives the loss (nil: no loss). Throws on an empty set, an empty answer, or an
    /// empty prompt after a shared prefix (its first answer token would be predicted inside the
    /// prefix).
    public func score(
        _ pairs: [TokenizedPair], edit: SteeringParameters?, positions: SteeringPositions = .afterPrefix,
        objective: PreferenceObjective?, progress: (Pass, Int, Int) -> Void = { _, _, _ in }
    ) throws -> PreferenceScore {
        guard !pairs.isEmpty else { throw SteeringError.noPairs }
        for (i, pair) in pairs.enumerated() {
            if pair.chosen.isEmpty || pair.rejected.isEmpty { throw SteeringError.emptyAnswer(pair: i) }
            if pair.prompt.isEmpty && !sharedPrefix.isEmpty { throw SteeringError.emptyPrompt(pair: i) }
        }
        let configuration = SteeringConfiguration(
            headSelection: edit?.target ?? "none", heads: edit?.heads ?? [],
            parameterization: edit?.parameterization ?? .headVectors, positions: positions,
            objective: objective ?? .ipo(tau: 0.1), lengthNormalized: lengthNormalized, batchSize: batchSize,
            residualLayer: edit?.residualLayer)
        let trainer = SteeringTrainer(model: model, configuration: configuration, parameters: edit, sharedPrefix: sharedPrefix)
        let reference = try trainer.logProbabilities(pairs, steered: false) { progress(.reference, $0, $1) }
        let steered = edit == nil ? reference : try trainer.logProbabilities(pairs, steered: true) { progress(.steered, $0, $1) }
        let n = Double(pairs.count)
        var margins: [Double] = [], loss = 0.0, correct = 0, referenceCorrect = 0, improved = 0
        var chosen = 0.0, rejected = 0.0
        for (s, r) in zip(steered, reference) {
            let h = edit == nil ? 0 : (s.chosen - r.chosen) - (s.rejected - r.rejected)
            margins.append(h)
            if let objective { loss += objective.loss(margin: h).value }
            if s.chosen > s.rejected { correct += 1 }
            if r.chosen > r.rejected { referenceCorrect += 1 }
            if h > 0 { improved += 1 }
            chosen += s.chosen
            rejected += s.rejected
        }
        let mean = margins.reduce(0, +) / n
        let variance = margins.count > 1 ? margins.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1) : 0
        return PreferenceScore(
            pairs: pairs.count, accuracy: Double(correct) / n, margin: mean,
            marginStandardError: (variance / n).squareRoot(), loss: objective.map { _ in loss / n },
            referenceAccuracy: Double(referenceCorrect) / n, shareImproved: Double(improved) / n,
            meanChosenLogProbability: chosen / n, meanRejectedLogProbability: rejected / n,
            answerTokens: pairs.reduce(0) { $0 + $1.chosen.count + $1.rejected.count })
    }
}
