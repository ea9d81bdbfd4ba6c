import LocusCore
import Foundation
import LocusData
import LocusEvaluation
import LocusInterventions
import LocusModel
import LocusRecipes

/// TruthfulQA evaluation of an edit (METHODS.md §4) for the sweep executors: MC1/2/3,
/// generation with the offline truth/info substitutes (and per-question 0/1 arrays for bootstrap
/// intervals) and, when the recipe names judge checkpoints, the judges' verdicts; CE and KL on a
/// seeded wikitext-2 sample. Evaluators and samples are built once.
public final class TruthfulQARunEvaluator {
    public let lm: LanguageModel
    public let location: DataLocation
    public let tqa: TruthfulQA
    public let modelSHA: String
    private var mcEvaluator: MultipleChoiceEvaluator?
    /// Tokens of the evaluation prompt's shared instruction + primer prefix.
    public let promptPrefixLength: Int
    private var generationEvaluators: [Int: GenerationEvaluator] = [:]
    private var samples: [String: SideEffectSample] = [:]

    /// How judge checkpoints keep their weights (the evaluated model's `--weights`).
    public let weights: WeightStorage

    public init(model: LanguageModel, location: DataLocation, weights: WeightStorage = .stored) throws {
        lm = model
        self.weights = weights
        self.location = location
        tqa = try TruthfulQA.load(from: location)
        modelSHA = try SHA256.hex(ofCheckpoint: model.url)
        promptPrefixLength = model.tokenizer.encode(TruthfulQAPrompt().sharedPrefix).count
    }

    /// Questions evaluated under one intervention (nil: the unedited model).
    public struct Group {
        public var questionIDs: [Int]
        public var intervention: Intervention?

        public init(questionIDs: [Int], intervention: Intervention?) {
            self.questionIDs = questionIDs
            self.intervention = intervention
        }
    }

    /// The metrics `run.metrics` asks for (mc, generation, sideEffects) over all groups.
    public func evaluate(_ groups: [Group], run: RunSpec) throws -> [String: JSONValue] {
        var m: [String: JSONValue] = [:]
        let total = groups.reduce(0) { $0 + $1.questionIDs.count }
        m["questions"] = .number(Double(total))
        m["question_ids"] = .array(groups.flatMap(\.questionIDs).map { .number(Double($0)) })
        if run.metrics.contains("mc") {
            if mcEvaluator == nil { mcEvaluator = try MultipleChoiceEvaluator(model: lm) }
            var results: [MultipleChoiceQuestionResult] = []
            var seconds = 0.0
            for g in groups {
                let r = try mcEvaluator!.evaluate(tqa.questions(ids: g.questionIDs), intervention: g.intervention)
                results += r.results
                seconds += r.seconds
            }
            let mean = MultipleChoiceMetrics.mean(results.map(\.metrics))
            m[MetricNames.mc1] = .number(mean.mc1)
            m[MetricNames.mc2] = .number(mean.mc2)
            m[MetricNames.mc3] = .number(mean.mc3)
            m["mc_seconds"] = .number(seconds)
        }
        if run.metrics.contains("generation") {
            let n = run.data.maxNewTokens
            if generationEvaluators[n] == nil {
                generationEvaluators[n] = try GenerationEvaluator(model: lm, maxNewTokens: n)
            }
            var answers: [GeneratedAnswer] = []
            var tokens = 0, seconds = 0.0
            for g in groups {
                let r = try generationEvaluators[n]!.evaluate(tqa.questions(ids: g.questionIDs), intervention: g.intervention)
                answers += r.answers
                tokens += r.summary.tokens
                seconds += r.summary.seconds
            }
            let s = GenerationSummary(answers, tokens: tokens, seconds: seconds)
            m[MetricNames.truth] = .number(s.truth)
            m[MetricNames.truthROUGE] = .number(s.truthROUGE)
            m[MetricNames.info] = .number(s.info)
            m[MetricNames.truthTimesInfo] = .number(s.truthTimesInfo)
            m[MetricNames.truthPerQuestion] = .array(answers.map { .number($0.bleu.accurate ? 1 : 0) })
            m[MetricNames.infoPerQuestion] = .array(answers.map { .number($0.info == .informative ? 1 : 0) })
            m["generation_tokens"] = .number(Double(tokens))
            m["generation_seconds"] = .number(seconds)
            if let truthJudge = run.data.truthJudge, let infoJudge = run.data.infoJudge {
                // The judges score every answer; the substitutes above stay, under their own names.
                let judges = JudgePair(
                    truth: URL(fileURLWithPath: truthJudge), info: URL(fileURLWithPath: infoJudge))
                let texts = Dictionary(uniqueKeysWithValues: tqa.questions.map { ($0.id, $0.question) })
                let v = try judges.judge(answers, questions: texts, weights: weights)
                let j = JudgeSummary(truth: v.truth, info: v.info)
                m[MetricNames.truthJudge] = .number(j.truth)
                m[MetricNames.infoJudge] = .number(j.info)
                m[MetricNames.truthTimesInfoJudge] = .number(j.truthTimesInfo)
                m[MetricNames.truthJudgePerQuestion] = .array(v.truth.map { .number($0.accepted ? 1 : 0) })
                m[MetricNames.infoJudgePerQuestion] = .array(v.info.map { .number($0.accepted ? 1 : 0) })
                m["truth_judge_p_yes"] = .array(v.truth.map { .number($0.pYes) })
                m["info_judge_p_yes"] = .array(v.info.map { .number($0.pYes) })
                m["judge_seconds"] = .number(v.seconds)
            }
        }
        if run.metrics.contains("sideEffects") {
            let t0 = Date()
            let key = "\(run.data.sideEffectDocuments)x\(run.data.sideEffectTokens)"
            if samples[key] == nil {
                let documents = try WikiText.load(location.wikiText2("test"))
                samples[key] = SideEffectSample(
                    documents: documents, tokenizer: lm.tokenizer, count: run.data.sideEffectDocuments,
                    tokensPerDocument: run.data.sideEffectTokens, seed: 0, source: "wikitext-2 test")
            }
            let edited = groups.compactMap(\.intervention)
            let r = try SideEffectEvaluator(model: lm).evaluate(samples[key]!, interventions: edited)
            m["ce_unedited"] = .number(r.original.crossEntropy)
            if edited.isEmpty {
                m[MetricNames.ce] = .number(r.original.crossEntropy)
                m[MetricNames.kl] = .number(0)
            } else {
                m[MetricNames.ce] = .number(r.edited.map(\.crossEntropy).reduce(0, +) / Double(edited.count))
                m[MetricNames.kl] = .number(r.edited.map(\.klFromOriginal).reduce(0, +) / Double(edited.count))
            }
            m["side_effect_seconds"] = .number(Date().timeIntervalSince(t0))
        }
        m["model_sha256"] = .string(modelSHA)
        return m
    }
}
