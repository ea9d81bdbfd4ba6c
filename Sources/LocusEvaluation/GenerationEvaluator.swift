import Foundation
import LocusData
import LocusInterventions
import LocusModel
import LocusTensor

/// One question's generated answer and its substitute truth/info verdicts.
public struct GeneratedAnswer: Codable, Equatable, Sendable {
    public var questionID: Int
    /// The answer: the generation cut at the next "Q:" and trimmed.
    public var answer: String
    public var generatedTokens: Int
    public var bleu: GenerationMetrics.Comparison
    public var rouge: GenerationMetrics.Comparison
    public var info: GenerationMetrics.InfoVerdict

    public init(
        questionID: Int, answer: String, generatedTokens: Int, bleu: GenerationMetrics.Comparison,
        rouge: GenerationMetrics.Comparison, info: GenerationMetrics.InfoVerdict
    ) {
        self.questionID = questionID
        self.answer = answer
        self.generatedTokens = generatedTokens
        self.bleu = bleu
        self.rouge = rouge
        self.info = info
    }
}

/// Means of the substitute metrics over questions.
public struct GenerationSummary: Codable, Equatable, Sendable {
    /// Share of answers with BLEU-acc (the truth substitute).
    public var truth: Double
    /// Share with ROUGE-L-acc (second truth substitute).
    public var truthROUGE: Double
    /// Share judged informative by the info substitute.
    public var info: Double
    /// mean(truth) × mean(info).
    public var truthTimesInfo: Double
    public var tokens: Int
    public var seconds: Double

    public init(_ answers: [GeneratedAnswer], tokens: Int, seconds: Double) {
        let n = Double(max(answers.count, 1))
        truth = Double(answers.filter(\.bleu.accurate).count) / n
        truthROUGE = Double(answers.filter(\.rouge.accurate).count) / n
        info = Double(answers.filter { $0.info == .informative }.count) / n
        truthTimesInfo = truth * info
        self.tokens = tokens
        self.seconds = seconds
    }
}

/// Greedy answers to TruthfulQA questions (≤ `maxNewTokens`, cut at the next "Q:"), several
/// questions decoding together in one packed batch, all starting from one computed copy of the
/// shared prefix (unless the intervention edits the prompt). When only one sequence fits the
/// `KeyValueBudget` (a 7B model: ~0.4 GB of keys and values per sequence), it decodes in the
/// prefix's own cache after the previous question's rows are dropped, so the prefix is held
/// once, not twice (issue 13). A sequence stops at an end token or once its text contains "Q:"; finished
/// sequences are fed a filler token until the batch ends (their outputs are ignored).
public final class GenerationEvaluator {
    public let model: LanguageModel
    public let prompt: TruthfulQAPrompt
    public let maxNewTokens: Int
    public let batchSize: Int
    let prefix: [Int]
    /// The prefix's keys and values (with room for one question's prompt and answer once an
    /// evaluation has decoded one in place).
    private(set) var prefixCache: KVCache
    let stopTokens: Set<Int>

    public init(
        model: LanguageModel, prompt: TruthfulQAPrompt = .init(), maxNewTokens: Int = 50,
        batchSize: Int = 8
    ) throws {
        self.model = model
        self.prompt = prompt
        self.maxNewTokens = maxNewTokens
        self.batchSize = max(1, batchSize)
        prefix = model.tokenizer.encodePrompt(prompt.sharedPrefix)
        prefixCache = KVCache(config: model.config, sequences: 1, capacity: max(prefix.count, 1))
        if !prefix.isEmpty { _ = try model.model.forward([prefix], cache: prefixCache, logits: .none) }
        var stops = Set([model.config.eosTokenID].compactMap { $0 })
        for special in ["<|endoftext|>", "<|im_end|>"] {
            let ids = model.tokenizer.encode(special)
            if ids.count == 1 { stops.insert(ids[0]) }
        }
        stopTokens = stops
    }

    public typealias Progress = (Int, Int, Int) -> Void  // questions done, total, tokens so far

    /// The prefix computed with the edit of the last `evaluate(prefixKey:)` (see
    /// `MultipleChoiceEvaluator.evaluate`).
    private var editedPrefixMemo: (key: String, cache: KVCache)?

    /// Cache capacity reserved for every evaluation (0 until `reserve(for:)`).
    public private(set) var reservedCapacity = 0

    /// Positions a sequence needs: prefix, the longest question, the answer and one more.
    func capacity(questionTokens: [[Int]]) -> Int {
        prefix.count + (questionTokens.map(\.count).max() ?? 0) + maxNewTokens + 1
    }

    /// Reserves cache capacity for all of `questions` and returns the questions decoded
    /// together. The batch size follows the capacity (`KeyValueBudget`) and batching changes
    /// float rounding (and so, rarely, a greedy token), so a resumable or sharded evaluation
    /// reserves for every question first and then decodes unit by unit exactly as an
    /// uninterrupted, unsharded run of the same units.
    @discardableResult
    public func reserve(for questions: [TruthfulQAQuestion]) -> Int {
        let tokens = questions.map { model.tokenizer.encodeContinuation(prompt.questionSuffix($0.question)) }
        reservedCapacity = max(reservedCapacity, capacity(questionTokens: tokens))
        return KeyValueBudget.sequences(batchSize, capacity: reservedCapacity, config: model.config)
    }

    public func evaluate(
        _ questions: [TruthfulQAQuestion], intervention: Intervention? = nil, prefixKey: String? = nil,
        progress: Progress? = nil
    ) throws -> (answers: [GeneratedAnswer], summary: GenerationSummary) {
        let start = Date()
        let questionTokens = questions.map {
            model.tokenizer.encodeContinuation(prompt.questionSuffix($0.question))
        }
        let capacity = max(reservedCapacity, capacity(questionTokens: questionTokens))
        var kept: KVCache?
        let batchSize = KeyValueBudget.sequences(self.batchSize, capacity: capacity, config: model.config)
        let inPlace = batchSize == 1 && !prefix.isEmpty
        if inPlace && prefixCache.capacity < capacity {
            prefixCache.truncate(sequence: 0, to: prefix.count)
            let grown = KVCache(config: model.config, sequences: 1, capacity: capacity)
            grown.copyPrefix(from: prefixCache, sequence: 0, to: 0)
            prefixCache = grown
        }
        // An edit of the prefix that is the same for every question: the edited prefix once.
        var sharedPrefix = prefixCache
        let editedPrefix = !prefix.isEmpty && intervention?.editsPrompt == true && intervention?.prefixEditShared == true
        let neededCapacity = inPlace ? capacity : prefix.count
        if editedPrefix, let prefixKey, let memo = editedPrefixMemo, memo.key == prefixKey, memo.cache.capacity >= neededCapacity {
            sharedPrefix = memo.cache
        } else if editedPrefix, let intervention {
            sharedPrefix = KVCache(config: model.config, sequences: 1, capacity: neededCapacity)
            _ = try model.model.forward(
                [prefix], cache: sharedPrefix, hooks: intervention.hooks(.generation(promptLengths: [prefix.count])),
                logits: .none)
            editedPrefixMemo = prefixKey.map { ($0, sharedPrefix) }
        }
        var answers: [GeneratedAnswer] = []
        var tokens = 0
        var batchStart = 0
        while batchStart < questions.count {
            let range = batchStart..<min(batchStart + batchSize, questions.count)
            batchStart = range.upperBound
            let n = range.count
            let reusePrefix = !prefix.isEmpty && (intervention?.editsPrompt != true || editedPrefix)
            let cache: KVCache
            if reusePrefix && inPlace {
                cache = sharedPrefix  // one sequence: decode after the prefix, in its own rows
                cache.truncate(sequence: 0, to: prefix.count)
            } else {
                if let k = kept, k.sequenceCount == n {
                    cache = k
                } else {
                    kept = nil  // released before its replacement is allocated
                    cache = KVCache(config: model.config, sequences: n, capacity: capacity)
                    kept = cache
                }
                cache.reset()
                if reusePrefix {
                    sharedPrefix.truncate(sequence: 0, to: prefix.count)  // drop an in-place answer's rows
                    for s in 0..<n { cache.copyPrefix(from: sharedPrefix, sequence: 0, to: s) }
                }
            }
            var produced = [[Int]](repeating: [], count: n)
            var done = [Bool](repeating: false, count: n)
            var inputs = range.map { reusePrefix ? questionTokens[$0] : prefix + questionTokens[$0] }
            let hooks =
                intervention?.hooks(
                    .generation(promptLengths: range.map { prefix.count + questionTokens[$0].count })) ?? []
            tokens += inputs.reduce(0) { $0 + $1.count }
            for _ in 0..<maxNewTokens {
                let logits = try model.model.forward(inputs, cache: cache, hooks: hooks, logits: .last)
                for s in 0..<n where !done[s] {
                    let row = logits.last(sequence: s)
                    let token = LogSoftmax.argmax(row.baseAddress!, count: row.count)
                    if stopTokens.contains(token) {
                        done[s] = true
                        continue
                    }
                    produced[s].append(token)
                    if produced[s].count >= maxNewTokens
                        || model.tokenizer.decode(produced[s]).contains("Q:")
                    {
                        done[s] = true
                    }
                }
                tokens += n
                if done.allSatisfy({ $0 }) { break }
                inputs = (0..<n).map { [produced[$0].last ?? inputs[$0].last!] }
            }
            for (s, q) in range.enumerated() {
                let question = questions[q]
                let text = GenerationMetrics.cutAtNextQuestion(model.tokenizer.decode(produced[s]))
                answers.append(
                    GeneratedAnswer(
                        questionID: question.id, answer: text, generatedTokens: produced[s].count,
                        bleu: GenerationMetrics.bleuComparison(text, question: question),
                        rouge: GenerationMetrics.rougeComparison(text, question: question),
                        info: GenerationMetrics.info(text)))
            }
            progress?(range.upperBound, questions.count, tokens)
        }
        return (answers, GenerationSummary(answers, tokens: tokens, seconds: Date().timeIntervalSince(start)))
    }
}
