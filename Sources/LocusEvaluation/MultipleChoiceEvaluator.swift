import Foundation
import LocusData
import LocusInterventions
import LocusModel
import LocusTensor

/// One question's multiple-choice result.
public struct MultipleChoiceQuestionResult: Codable, Equatable, Sendable {
    public var questionID: Int
    public var metrics: MultipleChoiceMetrics
    public var trueScores: [Double]
    public var falseScores: [Double]
    /// Index of the best answer in `trueScores`.
    public var best: Int
}

/// The multiple-choice part of an evaluation.
public struct MultipleChoiceRun: Codable, Equatable, Sendable {
    public var results: [MultipleChoiceQuestionResult]
    public var mean: MultipleChoiceMetrics
    /// Tokens run through the model (question and answer tokens; the shared prefix once).
    public var tokens: Int
    /// Tokens a scorer without prefix reuse would run: Σ over answers of prompt + answer length.
    public var equivalentTokens: Int
    public var answerCount: Int
    public var seconds: Double
}

/// TruthfulQA MC1/MC2/MC3 (TruthfulQA's own scoring, on the CSV's reference answers closed with
/// a period, as ITI's `tqa_run_probs`): each answer's score is the sum of its token log-probs
/// after the prompt.
///
/// Reuse: the shared prefix (instruction + primer) is computed once per evaluator; per question
/// the question tokens are computed once on a copy of it; the answers then run as one packed
/// batch (up to `answersPerBatch`), each on a copy of the question's keys and values. An
/// intervention that edits the prompt (`editsPrompt`) gets whole prompts computed with it.
public final class MultipleChoiceEvaluator {
    public let model: LanguageModel
    public let prompt: TruthfulQAPrompt
    public let answersPerBatch: Int
    let prefix: [Int]
    let prefixCache: KVCache
    private var answerCaches: [Int: KVCache] = [:]
    private var answerCapacity = 0

    public init(model: LanguageModel, prompt: TruthfulQAPrompt = .init(), answersPerBatch: Int = 8) throws {
        self.model = model
        self.prompt = prompt
        self.answersPerBatch = max(1, answersPerBatch)
        prefix = model.tokenizer.encode(prompt.sharedPrefix)
        prefixCache = KVCache(config: model.config, sequences: 1, capacity: max(prefix.count, 1))
        if !prefix.isEmpty { _ = try model.model.forward([prefix], cache: prefixCache, logits: .none) }
    }

    /// The answers a question is scored on: (true answers, false answers, index of the best).
    public static func answerSets(_ q: TruthfulQAQuestion) -> (true: [String], false: [String], best: Int) {
        var trueAnswers = q.correctAnswers.map(\.closedWithPeriod)
        let best = q.bestAnswer.closedWithPeriod
        if !trueAnswers.contains(best) { trueAnswers.append(best) }
        return (trueAnswers, q.incorrectAnswers.map(\.closedWithPeriod), trueAnswers.firstIndex(of: best)!)
    }

    public typealias Progress = (Int, Int, Int) -> Void  // questions done, total, tokens so far

    public func evaluate(
        _ questions: [TruthfulQAQuestion], intervention: Intervention? = nil, progress: Progress? = nil
    ) throws -> MultipleChoiceRun {
        let start = Date()
        let tokenizer = model.tokenizer
        struct Prepared {
            var question: [Int]
            var answers: [[Int]]
            var trueCount: Int
            var best: Int
        }
        let prepared = questions.map { q -> Prepared in
            let sets = Self.answerSets(q)
            let answers = (sets.true + sets.false).map { tokenizer.encode(prompt.answerContinuation($0)) }
            return Prepared(
                question: tokenizer.encode(prompt.questionSuffix(q.question)), answers: answers,
                trueCount: sets.true.count, best: sets.best)
        }
        let longestQuestion = prepared.map(\.question.count).max() ?? 0
        let longestAnswer = prepared.flatMap { $0.answers.map(\.count) }.max() ?? 0
        let capacity = prefix.count + longestQuestion + longestAnswer
        if capacity > answerCapacity {
            answerCaches = [:]
            answerCapacity = capacity
        }
        let questionCache = KVCache(
            config: model.config, sequences: 1, capacity: prefix.count + longestQuestion)

        var results: [MultipleChoiceQuestionResult] = []
        var tokens = 0, equivalent = 0, answerCount = 0
        for (i, item) in prepared.enumerated() {
            let scores = try score(item.question, item.answers, questionCache: questionCache, intervention: intervention)
            let promptLength = prefix.count + item.question.count
            tokens += item.question.count + item.answers.reduce(0) { $0 + max($1.count - 1, 0) }
            equivalent += item.answers.reduce(0) { $0 + promptLength + $1.count }
            answerCount += item.answers.count
            let trueScores = Array(scores[0..<item.trueCount]), falseScores = Array(scores[item.trueCount...])
            results.append(
                MultipleChoiceQuestionResult(
                    questionID: questions[i].id,
                    metrics: MultipleChoiceMetrics(trueScores: trueScores, falseScores: falseScores, best: item.best),
                    trueScores: trueScores, falseScores: falseScores, best: item.best))
            progress?(i + 1, prepared.count, tokens)
        }
        return MultipleChoiceRun(
            results: results, mean: .mean(results.map(\.metrics)), tokens: tokens,
            equivalentTokens: equivalent, answerCount: answerCount,
            seconds: Date().timeIntervalSince(start))
    }

    /// Σ log p(answer tokens | prompt) per answer.
    func score(
        _ question: [Int], _ answers: [[Int]], questionCache: KVCache, intervention: Intervention?
    ) throws -> [Double] {
        let promptLength = prefix.count + question.count
        let hooks = intervention?.hooks(.multipleChoice(promptLength: promptLength)) ?? []
        questionCache.reset()
        let promptInput: [Int]
        if intervention?.editsPrompt == true || prefix.isEmpty {
            promptInput = prefix + question  // the edit reaches the prefix: no reuse
        } else {
            questionCache.copyPrefix(from: prefixCache, sequence: 0, to: 0)
            promptInput = question
        }
        let last = try model.model.forward([promptInput], cache: questionCache, hooks: hooks, logits: .last)
        let row = last.last(sequence: 0)
        let lse = LogSoftmax.logSumExp(row.baseAddress!, count: row.count)
        var scores = answers.map { $0.first.map { Double(row[$0] - lse) } ?? 0 }

        // Answer tokens but the last are inputs; each predicts the next.
        let active = answers.indices.filter { answers[$0].count > 1 }
        var chunkStart = 0
        while chunkStart < active.count {
            let chunk = Array(active[chunkStart..<min(chunkStart + answersPerBatch, active.count)])
            chunkStart += chunk.count
            let cache = answerCache(sequences: chunk.count)
            cache.reset()
            for s in 0..<chunk.count { cache.copyPrefix(from: questionCache, sequence: 0, to: s) }
            let logits = try model.model.forward(
                chunk.map { Array(answers[$0].dropLast()) }, cache: cache, hooks: hooks, logits: .all)
            for (s, a) in chunk.enumerated() {
                for (t, target) in answers[a].dropFirst().enumerated() {
                    scores[a] += Double(
                        logits.logProbability(of: target, sequence: s, position: promptLength + t))
                }
            }
        }
        return scores
    }

    private func answerCache(sequences: Int) -> KVCache {
        if let cache = answerCaches[sequences] { return cache }
        let cache = KVCache(config: model.config, sequences: sequences, capacity: answerCapacity)
        answerCaches[sequences] = cache
        return cache
    }
}
