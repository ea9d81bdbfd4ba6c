import ArgumentParser
import Foundation
import LocusData
import LocusEvaluation
import LocusInterventions
import LocusModel
import LocusProbing
import LocusRecipes
import LocusScrubbing
import LocusSteering

/// `locus run RECIPE`: expands a recipe into runs and executes those the results file lacks.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a recipe's sweep (resumable, shardable); one JSON line per finished run.",
        discussion: """
            Expands RECIPE (Recipes/README.md) into runs with stable IDs and executes those not \
            yet in the results file, appending one record per run (one write to an O_APPEND file, \
            then fsync). Interrupt it at any time (Ctrl-C, kill -9, power loss) and start the same \
            command again: finished runs are skipped, the run in progress is redone, nothing is \
            duplicated. A failing run writes an error record and is retried on the next start \
            (--no-retry-failed skips it). --shard i/n (0 ≤ i < n) runs the runs whose ID hash is \
            i modulo n, so n machines share a sweep; `locus report` merges their files. \
            Methods with executors: iti, ipo, dpo, scrub, ablate.
            """)

    @Argument(help: "The recipe file (JSON).") var recipe: String
    @Option(help: "Results file (default runs/sweeps/<recipe name>[.shard-i-of-n].jsonl).") var results: String?
    @Option(help: "Run only part i of n (0 ≤ i < n), by run-ID hash.") var shard: String = "0/1"
    @Flag(inversion: .prefixedNo, help: "Retry runs whose earlier attempt failed.") var retryFailed = true
    @Option(help: "Stop after this many runs (0 = all).") var limit: Int = 0
    @Flag(help: "List the runs (ID, done?, label) and exit.") var dryRun = false
    @Option(help: "Results files of other sweeps: runs with the same ID are copied, not run again.")
    var reuse: [String] = []
    @Option(help: "Data folder (default $LOCUS_DATA or ../shared/data).") var data: String?
    @Option(help: "Folder that recipe paths, caches and default outputs resolve against (default: the current one).")
    var workdir: String?
    @Option(help: "A shard plan (plan.json of `locus slurm submit`): --shard i/n runs the plan's shard i, not a hash split.")
    var plan: String?
    @OptionGroup var options: ModelOptions
    @Option(help: .hidden) var executor: String = "model"
    @Option(help: .hidden) var fakeSleep: Double = 0

    func validate() throws {
        guard Shard(parsing: shard) != nil else {
            throw ValidationError("--shard must be i/n with 0 ≤ i < n, e.g. 0/2 and 1/2")
        }
        guard ["model", "fake"].contains(executor) else { throw ValidationError("--executor must be model or fake") }
    }

    mutating func run() throws {
        try enterWorkdir()
        if EditRecipe.isAnalysisRecipe(recipe) {  // Hase / interchange analyses (issue 6)
            return try EditRecipe.parse([recipe, "--threads", "\(options.threads)"]).run()
        }
        let recipeURL = URL(fileURLWithPath: recipe)
        let parsed: Recipe
        do { parsed = try Recipe.load(recipeURL) } catch let e as RecipeError {
            throw ValidationError(e.description)
        }
        let shard = Shard(parsing: shard)!
        let resultsURL = URL(fileURLWithPath: results ?? Self.defaultResults(parsed, shard: shard))

        var registry = ExecutorRegistry()
        let shape: ModelShape
        if executor == "fake" {
            shape = ModelShape(layerCount: 30, headCount: 9)
            let fake = FakeExecutor(sleep: fakeSleep)
            for kind in MethodSchema.builtIn.keys { registry.register(kind, fake) }
        } else {
            var modelOptions = options
            if modelOptions.model == nil && parsed.model != "default" { modelOptions.model = parsed.model }
            let lm = try modelOptions.load()
            shape = ModelShape(layerCount: lm.config.layerCount, headCount: lm.config.headCount)
            let evaluation = try TruthfulQARunEvaluator(
                model: lm, location: dataLocation(data), weights: modelOptions.weights)
            // Each method plugs in with one line.
            registry.register("iti", ITIExecutor(evaluation: evaluation))
            registry.register("ipo", PreferenceExecutor(evaluation: evaluation))
            registry.register("dpo", PreferenceExecutor(evaluation: evaluation))
            registry.register("scrub", ScrubExecutor(model: lm, data: data))
            registry.register("ablate", AblateExecutor(model: lm, data: data))
        }

        let runs: [RunSpec]
        do { runs = try RecipeExpansion.runs(parsed, shape: shape) } catch let e as RecipeError {
            throw ValidationError("\(recipe): \(e)")
        }
        // --dry-run only looks: no lock (so it shows progress while a sweep runs), no file created.
        let file = dryRun ? try ResultsFile(readingOnly: resultsURL) : try ResultsFile(url: resultsURL)
        if file.repairedBytes > 0 {
            printError("results: cut a torn final line (\(file.repairedBytes) bytes) from \(resultsURL.path); that run will be redone")
        }
        if !file.skippedLines.isEmpty {
            printError("results: skipped unreadable lines \(file.skippedLines) of \(resultsURL.path)")
        }
        let runner = SweepRunner(runs: runs, results: file, shard: shard, executor: registry, retryFailed: retryFailed)
        runner.limit = limit
        if let plan { runner.plan = try Self.loadPlan(plan, runs: runs, shard: shard) }
        for path in reuse {
            for r in try ResultsFile.read(URL(fileURLWithPath: path)).records where r.isOK { runner.reusable[r.runID] = r }
        }
        if dryRun {
            let done = runner.doneIDs
            let index = runner.reusableIndex()
            var reusable = 0
            for r in runner.shardRuns {
                let state = done.contains(r.runID) ? "done" : runner.reusableRecord(for: r, index: index) != nil ? "reuse" : "todo"
                if state == "reuse" { reusable += 1 }
                print("\(r.runID)  \(state)  \(r.label)")
            }
            printError("\(runner.shardRuns.count) runs in shard \(shard) (\(runs.count) in the recipe), \(runner.pending.count) to do, \(reusable) of them copied from --reuse files")
            return
        }
        let missing = Set(runner.pending.map(\.method)).filter { !registry.supports($0) }
        if !missing.isEmpty {
            throw ValidationError("no executor for method(s) \(missing.sorted().joined(separator: ", ")) yet")
        }
        printError("recipe \(parsed.name) (\(parsed.variant.rawValue)): \(runs.count) runs; shard \(shard); results \(resultsURL.path)")
        runner.progress = ProgressBar()
        let summary = try runner.run()
        printJSON(.object([
            ("command", .string("locus run")), ("recipe", .string(parsed.name)), ("results", .string(resultsURL.path)),
            ("shard", .string(shard.description)), ("runs", .int(summary.total)),
            ("already_done", .int(summary.alreadyDone)), ("completed", .int(summary.completed)),
            ("failed", .int(summary.failed)), ("reused", .int(summary.reused)),
            ("seconds", .double(summary.seconds)),
        ]))
        if summary.failed > 0 { throw ExitCode(3) }
    }

    static func defaultResults(_ recipe: Recipe, shard: Shard) -> String {
        let base = "runs/sweeps/\(recipe.name)"
        return shard.count == 1 ? base + ".jsonl" : base + ".shard-\(shard.index)-of-\(shard.count).jsonl"
    }
}

// MARK: executors

/// A stand-in executor for tests of the runner (hidden `--executor fake`): sleeps, then returns
/// metrics derived from the run ID, better for top sets and growing with α/τ up to a point.
struct FakeExecutor: RunExecutor {
    var sleep: Double

    func execute(_ run: RunSpec) throws -> [String: JSONValue] {
        if sleep > 0 { Thread.sleep(forTimeInterval: sleep) }
        let h = UInt64(run.runID.prefix(15), radix: 16) ?? 0
        func unit(_ shift: UInt64) -> Double { Double((h >> shift) & 0xFFFF) / 65535 }
        let strength = run.number("alpha").map { $0 / 20 } ?? run.number("tau").map { $0 * 2 } ?? 0.5
        let bonus = run.headSet?.kind == "top" ? 0.15 : 0
        let truth = min(1, 0.3 + 0.3 * strength + bonus + 0.1 * unit(0))
        let info = max(0, 0.95 - 0.25 * strength * strength + 0.05 * unit(16))
        return [
            MetricNames.truth: .number(truth), MetricNames.info: .number(info),
            MetricNames.truthTimesInfo: .number(truth * info),
            MetricNames.mc1: .number(0.2 + 0.1 * unit(32)), MetricNames.mc2: .number(0.35 + 0.1 * strength * (bonus > 0 ? 1 : 0.2) + 0.05 * unit(40)),
            MetricNames.ce: .number(3 + strength), MetricNames.kl: .number(0.05 + 0.3 * strength * strength),
            "fake": .bool(true),
        ]
    }
}

/// TruthfulQA evaluation of an edit (METHODS.md §4) for the sweep executors: MC1/2/3,
/// generation with the offline truth/info substitutes (and per-question 0/1 arrays for bootstrap
/// intervals) and, when the recipe names judge checkpoints, the judges' verdicts, CE and KL on a seeded wikitext-2 sample. Evaluators and samples are built once.
final class TruthfulQARunEvaluator {
    let lm: LanguageModel
    let location: DataLocation
    let tqa: TruthfulQA
    let modelSHA: String
    private var mcEvaluator: MultipleChoiceEvaluator?
    /// Tokens of the evaluation prompt's shared instruction + primer prefix.
    let promptPrefixLength: Int
    private var generationEvaluators: [Int: GenerationEvaluator] = [:]
    private var samples: [String: SideEffectSample] = [:]

    /// How judge checkpoints keep their weights (the evaluated model's `--weights`).
    let weights: WeightStorage

    init(model: LanguageModel, location: DataLocation, weights: WeightStorage = .stored) throws {
        lm = model
        self.weights = weights
        self.location = location
        tqa = try TruthfulQA.load(from: location)
        modelSHA = try SHA256.hex(ofCheckpoint: model.url)
        promptPrefixLength = model.tokenizer.encode(TruthfulQAPrompt().sharedPrefix).count
    }

    struct Group {
        var questionIDs: [Int]
        var intervention: Intervention?
    }

    func evaluate(_ groups: [Group], run: RunSpec) throws -> [String: JSONValue] {
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
                let judges = JudgePair(truth: URL(fileURLWithPath: truthJudge), info: URL(fileURLWithPath: infoJudge))
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

func headIDs(_ names: [String]) throws -> [HeadID] {
    try names.map { name in
        guard let p = HeadName.parse(name) else { throw ValidationError("'\(name)' is not a head name") }
        return HeadID(layer: p.layer, head: p.head)
    }
}

/// ITI (METHODS.md §2): z[l,h] += α·σ·θ at the run's heads, evaluated on each probe fold's
/// held-out questions with that fold's directions and σ (top sets use each fold's own top-k).
/// `data.questions` caps the held-out questions in total (split evenly over folds, lowest IDs).
final class ITIExecutor: RunExecutor {
    let evaluation: TruthfulQARunEvaluator
    private var rankings: [String: ProbeRanking] = [:]
    private var activations: [String: HeadActivations] = [:]
    /// α = 0 adds exact zeros, so every head set gives the unedited model's numbers: computed
    /// once per (ranking, data, metrics) and copied into the other α = 0 runs.
    private var unedited: [String: [String: JSONValue]] = [:]

    init(evaluation: TruthfulQARunEvaluator) { self.evaluation = evaluation }

    func execute(_ run: RunSpec) throws -> [String: JSONValue] {
        guard let path = run.string("ranking"), let alpha = run.number("alpha"), let headSet = run.headSet else {
            throw ValidationError("an iti run needs ranking, alpha and a head set")
        }
        if rankings[path] == nil { rankings[path] = try ProbeRanking.load(URL(fileURLWithPath: path)) }
        let ranking = rankings[path]!
        guard ranking.model.sha256 == evaluation.modelSHA else {
            throw ValidationError("\(path) was made with model sha256 \(ranking.model.sha256), not this model")
        }
        let kind: DirectionKind
        switch run.string("direction") ?? "massMean" {
        case "probe": kind = .probe
        case "random": kind = .random
        default: kind = .massMean
        }
        var acts: HeadActivations? = nil
        if kind == .random {
            if activations[path] == nil {
                activations[path] = try HeadActivations.load(
                    directory: URL(fileURLWithPath: ranking.activationCache.directory), key: ranking.activationCache.key)
            }
            acts = activations[path]
        }
        let uneditedKey = [path, run.data.json.canonicalText, run.metrics.joined(separator: ",")].joined(separator: "|")
        if alpha == 0, var m = unedited[uneditedKey] {
            m["unedited_copied"] = .bool(true)
            m["heads_per_fold"] = .array(ranking.folds.indices.map { f in
                .array((headSet.perFold.map { $0[f] } ?? headSet.heads).map(JSONValue.string))
            })
            return m
        }
        let folds = ranking.folds.count
        let perFold = run.data.questions > 0 ? (run.data.questions + folds - 1) / folds : 0
        var groups: [TruthfulQARunEvaluator.Group] = []
        var foldHeads: [JSONValue] = []
        for f in 0..<folds {
            var ids = ranking.folds[f].heldOutQuestions.sorted()
            if perFold > 0 { ids = Array(ids.prefix(perFold)) }
            let names = headSet.perFold.map { $0[f] } ?? headSet.heads
            let edit = try ITIEdit.make(
                ranking: ranking, fold: f, heads: try headIDs(names), direction: kind, alpha: alpha,
                seed: UInt64(run.seed), activations: acts, selection: headSet.selection)
            foldHeads.append(.array(names.map(JSONValue.string)))
            groups.append(.init(questionIDs: ids, intervention: .standard(name: "ITI") { [edit.hook(positions: $0)] }))
        }
        var m = try evaluation.evaluate(groups, run: run)
        m["heads_per_fold"] = .array(foldHeads)
        m["positions"] = JSONValue(StandardPositions.descriptions.mapValues(JSONValue.string))
        if alpha == 0 { unedited[uneditedKey] = m }
        return m
    }
}

/// IPO/DPO steering (METHODS.md §3): trains per-head vectors on TruthfulQA preference pairs from
/// a 60/20/20 question split (data.splitSeed), then evaluates on the test questions.
///
/// Issue 11: the pairs are in the run's `prompt` template (default: the MC evaluation's
/// instruction + primer prompt), the edit fires by the run's `positions` rule (default: after
/// the shared prefix) in training and evaluation alike, and a `top` head set is re-chosen from
/// probes trained on the split's training questions only (`ProbeRanking.restricted(to:)`).
final class PreferenceExecutor: RunExecutor {
    let evaluation: TruthfulQARunEvaluator
    /// Rankings redone on IPO's training questions, by (ranking file, split seed).
    private var trainingRankings: [String: ProbeRanking] = [:]
    init(evaluation: TruthfulQARunEvaluator) { self.evaluation = evaluation }

    /// The heads of a run and how they were chosen: a `top:K:FILE` set is re-ranked on the
    /// training questions; other sets are used as expanded.
    func heads(of headSet: HeadSet, trainQuestions: [Int], splitSeed: Int) throws -> (heads: [String], ranking: JSONValue?) {
        guard headSet.kind == "top", case .top(let k, let file) = try HeadSelection(parsing: headSet.selection) else {
            return (headSet.heads, nil)
        }
        let key = "\(file)|\(splitSeed)"
        if trainingRankings[key] == nil {
            let full = try ProbeRanking.load(URL(fileURLWithPath: file))
            guard full.model.sha256 == evaluation.modelSHA else {
                throw ValidationError("\(file) was made with model sha256 \(full.model.sha256), not this model")
            }
            let subset = QuestionSubset(
                label: "IPO training questions (60/20/20 question split, seed \(splitSeed))", ids: trainQuestions)
            printError("ipo: re-ranking heads of \(file) on the \(trainQuestions.count) IPO training questions…")
            trainingRankings[key] = try full.restricted(to: subset)
        }
        let ranking = trainingRankings[key]!
        let heads = ranking.top(k).sorted().map(\.description)
        return (heads, .object([
            .init("file", .string(file)), .init("questions", .string(ranking.questionSubset?.label ?? "")),
            .init("question_count", .number(Double(ranking.questionCount))),
            .init("ranked_by", .string(ranking.headsRankedBy)),
            .init("file_top", .array(headSet.heads.map(JSONValue.string))),
        ]))
    }

    func execute(_ run: RunSpec) throws -> [String: JSONValue] {
        guard let headSet = run.headSet else { throw ValidationError("a preference run needs a head set") }
        let lm = evaluation.lm
        let tqa = evaluation.tqa
        guard let template = SteeringPromptTemplate(parameter: run.string("prompt") ?? "truthfulqa") else {
            throw ValidationError("prompt must be truthfulqa or bare")
        }
        guard let positions = SteeringPositions(parameter: run.string("positions") ?? "afterPrefix") else {
            throw ValidationError("positions must be afterPrefix, all, prompt or answer")
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
        let heads = try names.map { name -> AttentionHead in
            guard let p = HeadName.parse(name) else { throw ValidationError("'\(name)' is not a head name") }
            return AttentionHead(layer: p.layer, head: p.head)
        }
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
        var state = try trainer.initialState(train: train, validation: validation)
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
func steeringIntervention(
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
    init?(parameter: String) {
        switch parameter {
        case "truthfulqa", "truthfulqa-mc": self = .truthfulQA
        case "bare": self = .bare
        default: return nil
        }
    }
}

extension SteeringPositions {
    /// A recipe's or the CLI's `positions` value (camelCase or the file's raw value).
    init?(parameter: String) {
        if parameter == "afterPrefix" { self = .afterPrefix } else { self.init(rawValue: parameter) }
    }
}
