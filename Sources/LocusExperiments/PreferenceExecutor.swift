import LocusCore
import Foundation
import LocusData
import LocusEvaluation
import LocusInterventions
import LocusModel
import LocusProbing
import LocusRecipes
import LocusSteering

/// IPO/DPO steering (METHODS.md §3): trains per-head vectors on TruthfulQA preference pairs from
/// a 60/20/20 question split (data.splitSeed), then evaluates on the test questions.
///
/// Issue 11: the pairs are in the run's `prompt` template (default: the MC evaluation's
/// instruction + primer prompt), the edit fires by the run's `positions` rule (default: after
/// the shared prefix) in training and evaluation alike, and a `top` head set is re-chosen from
/// probes trained on the split's training questions only (`ProbeRanking.restricted(to:)`).
public final class PreferenceExecutor: RunExecutor {
    public let evaluation: TruthfulQARunEvaluator
    /// Rankings redone on IPO's training questions, by (ranking file, split seed).
    private var trainingRankings: [String: ProbeRanking] = [:]
    public init(evaluation: TruthfulQARunEvaluator) { self.evaluation = evaluation }

    /// Where π₀'s log-probs of each training and validation pair list are kept, relative to the
    /// work directory (`SteeringReferenceCache`).
    public static let referenceCacheDirectory = "runs/cache/ipo-reference"

    /// The heads of a run and how they were chosen: a `top:K:FILE` set is re-ranked on the
    /// training questions; other sets are used as expanded.
    public func heads(of headSet: HeadSet, trainQuestions: [Int], splitSeed: Int) throws -> (heads: [String], ranking: JSONValue?) {
        guard headSet.kind == "top", case .top(let k, let file) = try HeadSetSelection(parsing: headSet.selection) else {
            return (headSet.heads, nil)
        }
        let key = "\(file)|\(splitSeed)"
        if trainingRankings[key] == nil {
            let full = try ProbeRanking.load(URL(fileURLWithPath: file))
            guard full.model.sha256 == evaluation.modelSHA else {
                throw ExperimentError("\(file) was made with model sha256 \(full.model.sha256), not this model")
            }
            let subset = QuestionSubset(
                label: "IPO training questions (60/20/20 question split, seed \(splitSeed))", ids: trainQuestions)
            printError("ipo: re-ranking heads of \(file) on the \(trainQuestions.count) IPO training questions…")
            trainingRankings[key] = try full.restricted(to: subset)
        }
        let ranking = trainingRankings[key]!
        let heads = ranking.top(k).sorted().map(\.description)
        return (heads, .object([
            ("file", .string(file)), ("questions", .string(ranking.questionSubset?.label ?? "")),
            ("question_count", .number(Double(ranking.questionCount))),
            ("ranked_by", .string(ranking.headsRankedBy)),
            ("file_top", .array(headSet.heads.map(JSONValue.string))),
        ]))
    }

    public func execute(_ run: RunSpec) throws -> [String: JSONValue] {
        guard let headSet = run.headSet else { throw ExperimentError("a preference run needs a head set") }
        let lm = evaluation.lm
        let tqa = evaluation.tqa
        guard let template = SteeringPromptTemplate(parameter: run.string("prompt") ?? "truthfulqa") else {
            throw ExperimentError("prompt must be truthfulqa or bare")
        }
        guard let positions = SteeringPositions(parameter: run.string("positions") ?? "afterPrefix") else {
            throw ExperimentError("positions must be afterPrefix, all, prompt or answer")
        }
        let parts = QuestionSplit.partition(Array(0..<tqa.count), fractions: [0.6, 0.2, 0.2], seed: UInt64(run.data.splitSeed))
        func pairs(_ ids: [Int], limit: Int, salt: UInt64) -> [TokenizedPair] {
            var chosen = template.pairs(tqa, questionIDs: ids.sorted())
            if limit > 0 && chosen.count > limit {
                let order = QuestionSplit.permutation(count: chosen.count, seed: UInt64(run.data.splitSeed) &+ salt)
                chosen = order.prefix(limit).sorted().map { chosen[$0] }
            }
            return chosen.map { TokenizedPair($0, tokenizer: lm.tokenizer) }
        }
        let train = pairs(parts[0], limit: run.data.trainPairs, salt: 101)
        let validation = pairs(parts[1], limit: run.data.validationPairs, salt: 202)
        let (names, rankingRecord) = try heads(of: headSet, trainQuestions: parts[0], splitSeed: run.data.splitSeed)
        let heads = try headIDs(names)
        let objective: PreferenceObjective =
            run.method == "dpo" ? .dpo(beta: run.number("beta") ?? 0.1) : .ipo(tau: run.number("tau") ?? 0.1)
        let rate = run.number("lr") ?? SteeringConfiguration.defaultLearningRate(
            headCount: heads.count, totalHeads: lm.config.layerCount * lm.config.headCount)
        let configuration = SteeringConfiguration(
            headSelection: headSet.selection, heads: heads, promptTemplate: template,
            parameterization: run.string("parameterization") == "rankOne" ? .rankOne : .headVectors,
            positions: positions, objective: objective,
            lengthNormalized: run.parameters["lengthNormalized"]?.bool ?? false, learningRate: rate,
            weightDecay: run.number("weightDecay") ?? 0, epochs: Int(run.number("epochs") ?? 2),
            batchSize: Int(run.number("batchSize") ?? 4), seed: UInt64(run.seed))
        let t0 = Date()
        let trainer = SteeringTrainer(
            model: lm.model, configuration: configuration,
            sharedPrefix: lm.tokenizer.encode(template.sharedPrefix))
        // π₀'s log-probs depend on the model and the pairs only: every run of a sweep on the same
        // split reads them from the work directory's cache (computed by the first run).
        let references = SteeringReferenceCache(
            directory: URL(fileURLWithPath: Self.referenceCacheDirectory), modelSHA256: evaluation.modelSHA)
        var state = try trainer.initialState(train: train, validation: validation, referenceCache: references)
        state = try trainer.train(from: state, train: train, validation: validation)
        let trainingSeconds = Date().timeIntervalSince(t0)
        let intervention = steeringIntervention(
            state.parameters, positions: positions, evaluationPrefixLength: evaluation.promptPrefixLength)
        var test = parts[2].sorted()
        if run.data.questions > 0 { test = Array(test.prefix(run.data.questions)) }
        var m = try evaluation.evaluate([.init(questionIDs: test, intervention: intervention)], run: run)
        m["train_pairs"] = .number(Double(train.count))
        m["validation_pairs"] = .number(Double(validation.count))
        m["learning_rate"] = .number(rate)
        m["training_seconds"] = .number(trainingSeconds)
        m["prompt_template"] = .string(template.rawValue)
        m["prompt_template_text"] = .string(template.description)
        m["positions"] = .string(positions.rawValue)
        m["positions_rule"] = .string(positions.description)
        m["heads"] = .array(names.map(JSONValue.string))
        if let rankingRecord { m["head_ranking"] = rankingRecord }
        m["validation_margin_initial"] = .number(state.initialValidation.margin)
        m["validation_accuracy_initial"] = .number(state.initialValidation.accuracy)
        if let last = state.curve.last {
            m["validation_margin"] = .number(last.validation.margin)
            m["validation_accuracy"] = .number(last.validation.accuracy)
            m["train_loss"] = .number(last.trainLoss)
        }
        return m
    }
}

/// The evaluation intervention of a trained steering edit: the positions rule of training
/// (`SteeringPositions.positions(prefixLength:promptLengths:)`) with the evaluation prompt's
/// shared-prefix length, so MC scoring and generation edit what training edited.
public func steeringIntervention(
    _ parameters: SteeringParameters, positions: SteeringPositions, evaluationPrefixLength: Int
) -> Intervention {
    .positionRule(
        name: "steering", editsPrompt: positions.editsSharedPrefix,
        description: "'\(positions.rawValue)': \(positions.description)",
        rule: { positions.positions(prefixLength: evaluationPrefixLength, promptLengths: $0) },
        make: { parameters.hooks(positions: $0) })
}

extension SteeringPromptTemplate {
    /// A recipe's `prompt` parameter: truthfulqa or bare.
    public init?(parameter: String) {
        switch parameter {
        case "truthfulqa", "truthfulqa-mc": self = .truthfulQA
        case "bare": self = .bare
        default: return nil
        }
    }
}

extension SteeringPositions {
    /// A recipe's or the CLI's `positions` value (camelCase or the file's raw value).
    public init?(parameter: String) {
        if parameter == "afterPrefix" { self = .afterPrefix } else { self.init(rawValue: parameter) }
    }
}
