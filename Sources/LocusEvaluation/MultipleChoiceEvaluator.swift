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

    public init(
        results: [MultipleChoiceQuestionResult], mean: MultipleChoiceMetrics, tokens: Int, equivalentTokens: Int,
        answerCount: Int, seconds: Double
    ) {
        self.results = results
        self.mean = mean
        self.tokens = tokens
        self.equivalentTokens = equivalentTokens
        self.answerCount = answerCount
        self.seconds = seconds
    }
}

/// TruthfulQA MC1/MC2/MC3 (TruthfulQA's own scoring, on the CSV's reference answers closed with
/// a period, as ITI's `tqa_run_probs`): each answer's score is the sum of its token log-probs
/// after the prompt.
///
/// Reuse and packing: the shared prefix (instruction + primer) is computed once per evaluator.
/// Questions go `questionsPerBatch` at a time: their question tokens run as one packed batch,
/// each on a copy of the prefix's keys and values (a single question runs in the prefix's own
/// cache, after its last question's rows are dropped: no copy); then the answers of all those
/// questions run packed `answersPerBatch` to a forward call, in a one-layer cache
/// (`KVCache.Storage.oneLayer`) into which each block copies its question's keys and values of
/// that layer (a short last chunk is padded with one-token filler sequences, so one KV cache
/// serves every call). Memory of keys and values, per position of a prompt of P + Q tokens
/// (7B: 1 MB per position at every layer, 32 KB at one): (P + Q) at every layer for a single
/// question, plus answersPerBatch × (P + Q + A) at one layer — 0.8 GB on the 7B shape instead of
/// the 11 GB of one full copy per answer (issue 13). Packing answers of different questions needs per-sequence edit positions, so an
/// intervention without `multipleChoiceHooks` is scored one question at a time. An intervention
/// that edits the prompt (`editsPrompt`) gets whole prompts computed with it, unless its prefix
/// edit is the same for every question (`prefixEditShared`, every steering rule): then the
/// edited prefix is computed once per `evaluate` and reused like the unedited one.
public final class MultipleChoiceEvaluator {
    public let model: LanguageModel
    public let prompt: TruthfulQAPrompt
    public let answersPerBatch: Int
    public let questionsPerBatch: Int
    let prefix: [Int]
    /// The prefix's keys and values, with room after them for one question
    /// (`questionCapacity`, once known).
    private(set) var prefixCache: KVCache
    /// The packed question group's keys and values (groups of more than one question).
    private var questionCache: KVCache?
    private var answerCache: KVCache?
    private var questionCapacity = 0
    /// The prefix computed with the edit of the last `evaluate(prefixKey:)`, kept for the next
    /// call with the same key (a journaled run evaluates a group unit by unit: without it, an
    /// edit of the shared prefix would recompute the prefix for every unit).
    private var editedPrefixMemo: (key: String, cache: KVCache)?
    private var answerCapacity = 0
    /// Most answer rows per forward call (`RowBudget`; at least one answer per call). Packing
    /// changes only float rounding; tests lower it to check that.
    public var answerRowLimit: Int

    /// Answers per forward call: `answersPerBatch`, or fewer to keep their keys and values
    /// within `KeyValueBudget.bytes`.
    var answerWidth: Int {
        KeyValueBudget.sequences(answersPerBatch, capacity: answerCapacity, config: model.config, storage: .oneLayer)
    }

    public init(
        model: LanguageModel, prompt: TruthfulQAPrompt = .init(), answersPerBatch: Int = 32,
        questionsPerBatch: Int = 4
    ) throws {
        self.model = model
        self.prompt = prompt
        self.answersPerBatch = max(1, answersPerBatch)
        self.questionsPerBatch = max(1, questionsPerBatch)
        prefix = model.tokenizer.encodePrompt(prompt.sharedPrefix)
        answerRowLimit = RowBudget.rows(config: model.config)
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

    struct Prepared {
        var question: [Int]
        var answers: [[Int]]
        var trueCount: Int
        var best: Int
    }

    /// A question's tokens and answers as scored.
    func prepare(_ q: TruthfulQAQuestion) -> Prepared {
        let sets = Self.answerSets(q)
        let answers = (sets.true + sets.false).map {
            model.tokenizer.encodeContinuation(prompt.answerContinuation($0))
        }
        return Prepared(
            question: model.tokenizer.encodeContinuation(prompt.questionSuffix(q.question)), answers: answers,
            trueCount: sets.true.count, best: sets.best)
    }

    /// Questions packed into one group (without an intervention, or with one that has
    /// `multipleChoiceHooks`): `questionsPerBatch` within `KeyValueBudget` for the cache
    /// capacity reserved so far.
    public var packedQuestions: Int {
        KeyValueBudget.sequences(questionsPerBatch, capacity: questionCapacity, config: model.config)
    }

    /// Sizes the caches for all of `questions` before any is scored and returns the questions
    /// per packed group. Group sizes and answers per call follow the capacities, and packing
    /// changes float rounding, so a resumable or sharded evaluation reserves for every question
    /// first: each question is then scored exactly as in an uninterrupted, unsharded run that
    /// evaluates the same units (capacities only grow).
    @discardableResult
    public func reserve(for questions: [TruthfulQAQuestion]) -> Int {
        reserve(questions.map(prepare))
        return packedQuestions
    }

    /// Tokens a question costs to score (question + every answer): the weight of shard balancing.
    public func tokenCost(of question: TruthfulQAQuestion) -> Int {
        let p = prepare(question)
        return p.question.count + p.answers.reduce(0) { $0 + $1.count }
    }

    func reserve(_ prepared: [Prepared]) {
        let longestQuestion = prepared.map(\.question.count).max() ?? 0
        let longestAnswer = prepared.flatMap { $0.answers.map(\.count) }.max() ?? 0
        if prefix.count + longestQuestion > questionCapacity {
            questionCache = nil
            questionCapacity = prefix.count + longestQuestion
            if !prefix.isEmpty {  // room for one question after the prefix
                prefixCache.truncate(sequence: 0, to: prefix.count)
                let grown = KVCache(config: model.config, sequences: 1, capacity: questionCapacity)
                grown.copyPrefix(from: prefixCache, sequence: 0, to: 0)
                prefixCache = grown
            }
        }
        if prefix.count + longestQuestion + longestAnswer > answerCapacity {
            answerCache = nil
            answerCapacity = prefix.count + longestQuestion + longestAnswer
        }
    }

    /// - Parameter prefixKey: names the intervention for reusing its edited prefix across calls
    ///   (the caller promises one key per intervention); nil computes it per call.
    public func evaluate(
        _ questions: [TruthfulQAQuestion], intervention: Intervention? = nil, prefixKey: String? = nil,
        progress: Progress? = nil
    ) throws -> MultipleChoiceRun {
        let start = Date()
        let prepared = questions.map(prepare)
        reserve(prepared)
        let sharedPrefix: KVCache
        if let prefixKey, let memo = editedPrefixMemo, memo.key == prefixKey, memo.cache.capacity >= questionCapacity {
            sharedPrefix = memo.cache
        } else {
            let edited = try editedPrefix(intervention)
            editedPrefixMemo = prefixKey.flatMap { key in edited.map { (key, $0) } }
            sharedPrefix = edited ?? prefixCache
        }
        let packing = intervention == nil || intervention?.multipleChoiceHooks != nil
        let groupSize = packing ? packedQuestions : 1

        var results: [MultipleChoiceQuestionResult] = []
        var tokens = 0, equivalent = 0, answerCount = 0
        var groupStart = 0
        while groupStart < prepared.count {
            let range = groupStart..<min(groupStart + groupSize, prepared.count)
            groupStart = range.upperBound
            let group = Array(prepared[range])
            let scores = try score(group, intervention: intervention, prefixCache: sharedPrefix)
            for (g, item) in group.enumerated() {
                let promptLength = prefix.count + item.question.count
                tokens += item.question.count + item.answers.reduce(0) { $0 + max($1.count - 1, 0) }
                equivalent += item.answers.reduce(0) { $0 + promptLength + $1.count }
                answerCount += item.answers.count
                let trueScores = Array(scores[g][0..<item.trueCount])
                let falseScores = Array(scores[g][item.trueCount...])
                results.append(
                    MultipleChoiceQuestionResult(
                        questionID: questions[range.lowerBound + g].id,
                        metrics: MultipleChoiceMetrics(
                            trueScores: trueScores, falseScores: falseScores, best: item.best),
                        trueScores: trueScores, falseScores: falseScores, best: item.best))
            }
            progress?(range.upperBound, prepared.count, tokens)
        }
        return MultipleChoiceRun(
            results: results, mean: .mean(results.map(\.metrics)), tokens: tokens,
            equivalentTokens: equivalent, answerCount: answerCount,
            seconds: Date().timeIntervalSince(start))
    }

    /// The intervention's hooks for sequences with these prompt lengths (filler sequences get a
    /// length no position reaches).
    func hooks(_ intervention: Intervention?, promptLengths: [Int]) -> [ActivationHook] {
        guard let intervention else { return [] }
        if let perSequence = intervention.multipleChoiceHooks { return perSequence(promptLengths) }
        return intervention.hooks(.multipleChoice(promptLength: promptLengths[0]))
    }

    /// The prefix's keys and values computed with `intervention`'s edit, when it edits the
    /// prefix the same way for every question (`prefixEditShared`); nil otherwise.
    func editedPrefix(_ intervention: Intervention?) throws -> KVCache? {
        guard let intervention, intervention.editsPrompt, intervention.prefixEditShared, !prefix.isEmpty else {
            return nil
        }
        let cache = KVCache(config: model.config, sequences: 1, capacity: max(prefix.count, questionCapacity))
        _ = try model.model.forward(
            [prefix], cache: cache, hooks: hooks(intervention, promptLengths: [prefix.count]), logits: .none)
        return cache
    }

    /// Σ log p(answer tokens | prompt) per answer, for each question of a group. `prefixCache`:
    /// the shared prefix's keys and values (unedited, or edited when `prefixEditShared`).
    func score(_ group: [Prepared], intervention: Intervention?, prefixCache: KVCache) throws -> [[Double]] {
        let n = group.count
        let promptLengths = group.map { prefix.count + $0.question.count }
        let reuse = !prefix.isEmpty && (intervention?.editsPrompt != true || intervention?.prefixEditShared == true)
        let questionCache: KVCache
        if reuse && n == 1 && prefixCache.capacity >= promptLengths[0] {
            // One question: in the prefix's own cache, after the previous question's rows.
            questionCache = prefixCache
            questionCache.truncate(sequence: 0, to: prefix.count)
        } else {
            if let kept = self.questionCache, kept.sequenceCount == n {
                questionCache = kept
            } else {
                self.questionCache = nil  // released before its replacement is allocated
                questionCache = KVCache(config: model.config, sequences: n, capacity: questionCapacity)
                self.questionCache = questionCache
            }
            questionCache.reset()
            if reuse {
                prefixCache.truncate(sequence: 0, to: prefix.count)  // drop an in-place question's rows
                for g in 0..<n { questionCache.copyPrefix(from: prefixCache, sequence: 0, to: g) }
            }
        }
        let last = try model.model.forward(
            group.map { reuse ? $0.question : prefix + $0.question }, cache: questionCache,
            hooks: hooks(intervention, promptLengths: promptLengths), logits: .last)
        var scores = group.enumerated().map { g, item -> [Double] in
            let row = last.last(sequence: g)
            let lse = LogSoftmax.logSumExp(row.baseAddress!, count: row.count)
            return item.answers.map { $0.first.map { Double(row[$0] - lse) } ?? 0 }
        }

        // Answer tokens but the last are inputs; each predicts the next.
        let items = group.indices.flatMap { g in
            group[g].answers.indices.filter { group[g].answers[$0].count > 1 }.map { (g, $0) }
        }
        let cache = answerCache
            ?? KVCache(config: model.config, sequences: answerWidth, capacity: answerCapacity, storage: .oneLayer)
        let width = cache.sequenceCount
        answerCache = cache
        let unreachable = Int.max / 2
        let rowLimit = answerRowLimit
        var chunkStart = 0
        while chunkStart < items.count {
            // Up to `width` answers, and no more answer rows than `RowBudget` (at least one).
            var chunkEnd = chunkStart, rows = 0
            while chunkEnd < items.count && chunkEnd - chunkStart < width {
                let (g, a) = items[chunkEnd]
                let length = group[g].answers[a].count - 1
                if chunkEnd > chunkStart && rows + length > rowLimit { break }
                rows += length
                chunkEnd += 1
            }
            let chunk = Array(items[chunkStart..<chunkEnd])
            chunkStart = chunkEnd
            cache.reset()
            for (s, (g, _)) in chunk.enumerated() { cache.continue(questionCache, sequence: g, at: s) }
            var inputs = chunk.map { g, a in Array(group[g].answers[a].dropLast()) }
            var lengths = chunk.map { g, _ in promptLengths[g] }
            while inputs.count < width {  // filler: one token at position 0, never edited, ignored
                inputs.append([0])
                lengths.append(unreachable)
            }
            let logits = try model.model.forward(
                inputs, cache: cache, hooks: hooks(intervention, promptLengths: lengths), logits: .all)
            for (s, (g, a)) in chunk.enumerated() {
                for (t, target) in group[g].answers[a].dropFirst().enumerated() {
                    scores[g][a] += Double(
                        logits.logProbability(of: target, sequence: s, position: promptLengths[g] + t))
                }
            }
        }
        return scores
    }
}

/// How many rows (token positions) an evaluator runs in one forward call with logits at every
/// row: each row holds its logits (V floats) and the forward's work buffers (≈ 4C + QKV + H·D +
/// 3F floats), so on the 7B shape (V = 49,152, C = 4096, F = 11,008) a row costs 460 KB and the
/// 32 MC answers of a question (~1,000 rows) took ~0.4 GB beside the weights; 256 MiB keeps ~580
/// rows there and ~1,160 on SmolLM2-135M (230 KB per row), whose packing is unchanged.
public enum RowBudget {
    public static let bytes = 1 << 28

    public static func rows(config: ModelConfig) -> Int {
        let floats = 4 * config.hiddenSize + config.attentionWidth + 2 * config.keyValueWidth
            + config.attentionWidth + 3 * config.intermediateSize + config.vocabularySize
        return max(1, bytes / (floats * MemoryLayout<Float>.size))
    }
}

/// How many sequences of KV cache an evaluator packs into one forward call: the requested number,
/// or fewer when their fp32 keys and values would take more than `bytes`. A 7B model keeps 1 MB
/// per position per sequence at every layer (32 layers × 2 × 4096 × 4 B), so the default 32 MC
/// answers after a 350-token prompt, each with its own copy, took 11 GB (measured: peak RSS
/// 15.7 GB for `eval truthfulqa` on the 7B-shaped Q8_0 file); a one-layer cache keeps 32 KB.
/// 256 MiB keeps a single question (or generated answer) at a time on the 7B shape, in the
/// prefix's own cache (0.25–0.3 GB: measured with 512 MiB, two questions' copies beside the
/// prefix took the MC evaluation to 8.2 GB peak RSS); SmolLM2-135M keeps 46 KB per position,
/// so its packing is unchanged. Packing changes only float rounding, not results.
public enum KeyValueBudget {
    public static let bytes = 1 << 28

    public static func sequences(
        _ requested: Int, capacity: Int, config: ModelConfig, storage: KVCache.Storage = .everyLayer
    ) -> Int {
        let perSequence = max(1, KVCache.bytes(config: config, sequences: 1, capacity: capacity, storage: storage))
        return min(max(1, requested), max(1, bytes / perSequence))
    }
}
