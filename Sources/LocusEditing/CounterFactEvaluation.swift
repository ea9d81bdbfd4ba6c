import Foundation
import LocusData
import LocusModel

/// Probabilities of the competing objects under one prompt.
public struct ObjectScores: Sendable, Equatable, Codable {
    /// Σ log p over the tokens of " object", for the new and the true object.
    public var logProbabilityNew: Double
    public var logProbabilityTrue: Double
    /// Mean per-token log p (ROME compares these for success).
    public var meanNew: Double
    public var meanTrue: Double

    public init(logProbabilityNew: Double, logProbabilityTrue: Double, meanNew: Double, meanTrue: Double) {
        self.logProbabilityNew = logProbabilityNew
        self.logProbabilityTrue = logProbabilityTrue
        self.meanNew = meanNew
        self.meanTrue = meanTrue
    }

    /// ROME's success: the new object is more likely (per token) than the true one.
    public var newWins: Bool { meanNew > meanTrue }
    /// p(new) and p(true) of the whole object strings.
    public var probabilityNew: Double { Foundation.exp(logProbabilityNew) }
    public var probabilityTrue: Double { Foundation.exp(logProbabilityTrue) }
}

/// A CounterFact record's prompts scored once (before or after an edit).
public struct CounterFactScores: Sendable, Equatable, Codable {
    public var rewrite: ObjectScores
    public var paraphrase: ObjectScores
    /// Neighbourhood prompt: "true" is the locality ground truth, "new" the edit's target.
    public var neighbourhood: ObjectScores

    public init(rewrite: ObjectScores, paraphrase: ObjectScores, neighbourhood: ObjectScores) {
        self.rewrite = rewrite
        self.paraphrase = paraphrase
        self.neighbourhood = neighbourhood
    }
}

/// Before/after comparison of one record (METHODS.md §7).
public struct CounterFactOutcome: Sendable, Equatable, Codable {
    public var caseID: Int
    public var before: CounterFactScores
    public var after: CounterFactScores

    public init(caseID: Int, before: CounterFactScores, after: CounterFactScores) {
        self.caseID = caseID
        self.before = before
        self.after = after
    }

    /// Efficacy: p(new) > p(true) on the prompt after the edit.
    public var efficacy: Bool { after.rewrite.newWins }
    public var paraphrase: Bool { after.paraphrase.newWins }
    /// Specificity: the neighbour's true object still beats the new one.
    public var neighbourhood: Bool { !after.neighbourhood.newWins }

    /// Hase et al.: max(2e-8, (p* − p)/(1 − p)) of the new object on the prompt
    /// (`CounterFactMetrics.rewriteScore`).
    public var rewriteScore: Double {
        CounterFactMetrics.rewriteScore(
            before: before.rewrite.probabilityNew, after: after.rewrite.probabilityNew)
    }
    public var paraphraseScore: Double {
        CounterFactMetrics.rewriteScore(
            before: before.paraphrase.probabilityNew, after: after.paraphrase.probabilityNew)
    }
    /// Hase et al.: 1 − |p* − p|/(0.5 + |p − 0.5|) of the *new* object (the edit's target) on the
    /// neighbourhood prompt, as belief-localization's `evaluate.py` L232–248 computes it from
    /// `neighborhood_prompts_probs[0]['target_new']`.
    public var neighbourhoodScore: Double {
        CounterFactMetrics.neighbourhoodScore(
            before: before.neighbourhood.probabilityNew, after: after.neighbourhood.probabilityNew)
    }
}

/// Hase et al.'s normalised CounterFact scores, as google/belief-localization's
/// `third_party/experiments/evaluate.py` (`make_editing_results_df`, L230–248) computes them:
/// p is the probability of the whole " object" string (`score_from_batch`: exp of the summed
/// token log-probs, `util/fewshot_utils.py` L65–86) on the *first* prompt of each kind
/// (`..._prompts_probs[0]`; Locus's CounterFact records carry one prompt of each kind).
public enum CounterFactMetrics {
    /// The floor of the rewrite and paraphrase scores (`evaluate.py` L240:
    /// `recovered_prop = np.max([2e-8, recovered_prop])`).
    public static let rewriteScoreFloor = 2e-8

    /// max(2e-8, 1 − (1 − q)/(1 − p)) = max(2e-8, (q − p)/(1 − p)) (`evaluate.py` L239–240).
    /// p = 1 (undefined there) gives the floor.
    public static func rewriteScore(before p: Double, after q: Double) -> Double {
        p >= 1 ? rewriteScoreFloor : max(rewriteScoreFloor, (q - p) / (1 - p))
    }

    /// 1 − |q − p| / (|p − 0.5| + 0.5) (`evaluate.py` L243–248), on p(new object).
    public static func neighbourhoodScore(before p: Double, after q: Double) -> Double {
        1 - abs(q - p) / (0.5 + abs(p - 0.5))
    }

    /// Scores the three prompts of `record` with the model as it currently is.
    public static func score(_ record: CounterFactRecord, languageModel: LanguageModel) throws
        -> CounterFactScores
    {
        let tokenizer = languageModel.tokenizer
        let new = tokenizer.encodeContinuation(" " + record.targetNew)
        func pair(_ prompt: String, _ truth: String) throws -> ObjectScores {
            let truthTokens = tokenizer.encodeContinuation(" " + truth)
            let s = try languageModel.model.scoreContinuations(
                prompt: tokenizer.encodePrompt(prompt), continuations: [new, truthTokens])
            return ObjectScores(
                logProbabilityNew: s[0].total, logProbabilityTrue: s[1].total,
                meanNew: s[0].total / Double(new.count),
                meanTrue: s[1].total / Double(truthTokens.count))
        }
        return CounterFactScores(
            rewrite: try pair(record.prompt, record.groundTruth),
            paraphrase: try pair(record.rephrasePrompt, record.groundTruth),
            neighbourhood: try pair(record.localityPrompt, record.localityGroundTruth))
    }
}

/// Means over many outcomes (percentages as fractions).
public struct CounterFactSummary: Sendable, Equatable, Codable {
    public var count: Int
    public var efficacy: Double
    public var paraphrase: Double
    public var neighbourhood: Double
    public var rewriteScore: Double
    public var paraphraseScore: Double
    public var neighbourhoodScore: Double
    /// Success rates before the edit (the unedited model's baseline).
    public var efficacyBefore: Double
    public var paraphraseBefore: Double
    public var neighbourhoodBefore: Double

    public init(_ outcomes: [CounterFactOutcome]) {
        let n = Double(max(1, outcomes.count))
        func rate(_ f: (CounterFactOutcome) -> Bool) -> Double {
            Double(outcomes.filter(f).count) / n
        }
        func mean(_ f: (CounterFactOutcome) -> Double) -> Double { outcomes.map(f).reduce(0, +) / n }
        count = outcomes.count
        efficacy = rate(\.efficacy)
        paraphrase = rate(\.paraphrase)
        neighbourhood = rate(\.neighbourhood)
        rewriteScore = mean(\.rewriteScore)
        paraphraseScore = mean(\.paraphraseScore)
        neighbourhoodScore = mean(\.neighbourhoodScore)
        efficacyBefore = rate { $0.before.rewrite.newWins }
        paraphraseBefore = rate { $0.before.paraphrase.newWins }
        neighbourhoodBefore = rate { !$0.before.neighbourhood.newWins }
    }
}
