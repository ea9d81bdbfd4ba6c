import LocusCore
import Foundation
import LocusData
import LocusEditing
import LocusFigures
import LocusModel
import LocusRecipes
import LocusTracing

/// The settings of one `hase` or `interchange` run (MethodSchema.hase / .interchange).
public struct AnalysisSettings: Sendable {
    /// Causal tracing of a `hase` run: site kind, window of layers, noise samples and scale.
    public struct Tracing: Sendable {
        public var kind: String
        public var window: Int
        public var samples: Int
        /// ν in units of `noiseBasis`'s std.
        public var noise: Double
        /// "subjects" (ROME's collect_embedding_std) or "matrix".
        public var noiseBasis: String
    }

    /// hase or interchange.
    public var method: String
    /// The facts file inside the data folder.
    public var file: String
    /// How many facts, from where, and which one this run analyses (0 ..< facts).
    public var facts: Int
    public var offset: Int
    public var fact: Int
    public var layers: [Int]
    public var tracing: Tracing
    /// ROME and key-statistics settings.
    public var edit: EditConfiguration
    /// Seeds the tracing noise (the run's seed).
    public var seed: Int
    /// The traced score: p(first object token) (ROME) or p(whole object) (belief-localization).
    public var answerScore: TraceAnswerScore = .firstToken

    /// A run's settings; `layerCount` checks the layers against the model.
    public init(run: RunSpec, layerCount: Int) throws {
        method = run.method
        guard let file = run.string("file"), let facts = run.number("facts").map(Int.init),
            let fact = run.number("fact").map(Int.init), let layerText = run.string("layers")
        else { throw ExperimentError("a \(run.method) run needs file, facts, fact and layers") }
        self.file = file
        self.facts = facts
        self.fact = fact
        offset = run.number("offset").map(Int.init) ?? 0
        guard let layers = LayerList.parse(layerText, count: layerCount) else {
            throw ExperimentError("layers: 'all', 'every:K' or a comma list of 0..<\(layerCount), got '\(layerText)'")
        }
        self.layers = layers
        tracing = Tracing(
            kind: run.string("tracingKind") ?? "mlp", window: run.number("window").map(Int.init) ?? 10,
            samples: run.number("samples").map(Int.init) ?? 10, noise: run.number("noise") ?? 3,
            noiseBasis: run.string("noiseBasis") ?? "subjects")
        var e = EditConfiguration()
        e.steps = run.number("romeSteps").map(Int.init) ?? e.steps
        e.contexts = run.number("contexts").map(Int.init) ?? e.contexts
        e.contextSeed = run.number("contextSeed").map(UInt64.init) ?? e.contextSeed
        e.romeEarlyStop = run.string("earlyStop") ?? e.romeEarlyStop
        e.romeUpdateKey = run.string("updateKey") ?? e.romeUpdateKey
        e.contextPrefixes = run.string("contextPrefixes") ?? e.contextPrefixes
        e.statsSplit = run.string("statsSplit") ?? e.statsSplit
        e.statsChunkTokens = run.number("statsChunkTokens").map(Int.init) ?? e.statsChunkTokens
        e.statsChunks = run.number("statsChunks").map(Int.init) ?? e.statsChunks
        e.statsSeed = run.number("statsSeed").map(UInt64.init) ?? e.statsSeed
        guard ROMEEarlyStop(rawValue: e.romeEarlyStop) != nil else { throw ExperimentError("earlyStop: total-loss or never") }
        guard ROMEUpdateKey(rawValue: e.romeUpdateKey) != nil else { throw ExperimentError("updateKey: prompt or averaged") }
        guard ContextPrefixStyle(rawValue: e.contextPrefixes) != nil else {
            throw ExperimentError("contextPrefixes: sampled or greedy")
        }
        guard let score = TraceAnswerScore(rawValue: run.string("answerScore") ?? "first-token") else {
            throw ExperimentError("answerScore: first-token or whole-answer")
        }
        answerScore = score
        edit = e
        seed = run.seed
    }

    /// What the edit session depends on (runs sharing it share key statistics and the editor).
    var sessionKey: String {
        let e = edit
        return "\(e.steps)|\(e.contexts)|\(e.contextSeed)|\(e.contextPrefixes)|\(e.romeEarlyStop)|\(e.romeUpdateKey)|\(e.sample.description)"
    }
    /// What the fact list depends on.
    var factsKey: String { "\(method)|\(file)|\(offset)|\(facts)" }
}

/// `locus run` executor of the `hase` and `interchange` methods (METHODS.md §8): one fact per
/// run, so an analysis resumes, shards and is reported like any sweep. Within a process, runs
/// share the edit session (ROME editor, key statistics: cached on disk too) and the fact list.
///
/// hase: per CounterFact fact, Hase et al.'s correctness check, p(true object), the causal
/// tracing effect per layer and a ROME edit's rewrite/paraphrase/neighbourhood scores at each
/// layer. interchange: per known fact with an automatic counterfactual, the logit difference
/// logit(o) − logit(o′) after a ROME edit toward o′ and after patching resid_post / mlp_out at
/// the last subject token from the counterfactual run, at each layer.
public final class LocalizationExecutor: RunExecutor {
    public let lm: LanguageModel
    public let modelSHA256: String
    /// BLAS threads (recorded).
    public let threads: Int
    /// Data folder (nil: `dataLocation(nil)`).
    public let data: String?
    private var sessions: [String: EditSession] = [:]
    private var factLists: [String: [Fact]] = [:]
    private var canonical = false

    public init(model: LanguageModel, modelSHA256: String, threads: Int, data: String?) {
        lm = model
        self.modelSHA256 = modelSHA256
        self.threads = threads
        self.data = data
    }

    public func execute(_ run: RunSpec) throws -> [String: JSONValue] {
        let settings = try AnalysisSettings(run: run, layerCount: lm.config.layerCount)
        // A ROME edit leaves its layer's down projection dense fp32 (undone bit for bit, but no
        // longer in the stored quantised type, whose kernels round activations to 8 bits), and
        // measuring the subject-embedding noise unit (done once, then read from its cache) makes
        // the (tied) embedding dense. So that a fact's record never depends on which facts the
        // process ran before it or on what was cached (resume, shards), every layer's down
        // projection and the embedding and unembedding are made dense once, before the first run.
        if !canonical {
            WeightBackup(model: lm.model, layers: Array(0..<lm.config.layerCount)).restore(into: lm.model)
            _ = lm.model.weights.embedding
            _ = lm.model.weights.unembedding
            canonical = true
        }
        let session: EditSession
        if let s = sessions[settings.sessionKey] {
            session = s
        } else {
            session = EditSession(lm: lm, modelSHA256: modelSHA256, settings: settings.edit, threads: threads, data: data)
            sessions[settings.sessionKey] = session
        }
        try session.prepareStatistics(settings.layers)
        if factLists[settings.factsKey] == nil {
            let location = try dataLocation(data)
            factLists[settings.factsKey] =
                try settings.method == "hase" ? haseFacts(settings, location) : interchangeFacts(settings, location, lm)
        }
        let facts = factLists[settings.factsKey]!
        guard settings.fact < facts.count else {
            // Fewer facts than asked (the file ends, or too few counterfactual pairs): recorded, not retried.
            return [
                "fact_index": .number(Double(settings.fact)), "skipped": .bool(true),
                "reason": .string("only \(facts.count) usable fact(s) from offset \(settings.offset) of \(settings.file)"),
            ]
        }
        let fact = facts[settings.fact]
        let record = try settings.method == "hase"
            ? haseRecord(fact, settings, session) : interchangeRecord(fact, settings, session)
        var metrics = try JSONValue.parse(record.text).dictionary ?? [:]
        metrics["fact_index"] = .number(Double(settings.fact))
        return metrics
    }

    struct Fact {
        var id: String
        var prompt: String
        var subject: String
        var answer: String
        var target: String
        var counterfactual: String?
        var counterfactualSubject: String? = nil
        var record: CounterFactRecord? = nil
    }

    func haseFacts(_ recipe: AnalysisSettings, _ data: DataLocation) throws -> [Fact] {
        try CounterFact.load(data.url(recipe.file)).dropFirst(recipe.offset).prefix(recipe.facts).map {
            Fact(id: "case-\($0.caseID)", prompt: $0.prompt, subject: $0.subject, answer: $0.groundTruth,
                 target: $0.targetNew, counterfactual: nil, record: $0)
        }
    }

    /// Known facts with an automatic counterfactual (same template, subject at the same token
    /// positions, same prompt length, different first answer token; `Counterfactuals`); the
    /// edit target is the counterfactual's answer. Facts without one are skipped and counted.
    /// Deterministic, so every shard pairs the same way.
    func interchangeFacts(_ recipe: AnalysisSettings, _ data: DataLocation, _ lm: LanguageModel) throws -> [Fact] {
        let knowns = try KnownFacts.load(data.url(recipe.file))
        let (pairs, skipped) = Counterfactuals.pairs(
            Array(knowns.dropFirst(recipe.offset)), candidates: knowns, limit: recipe.facts,
            tokenizer: lm.tokenizer)
        printError(
            "interchange: \(pairs.count) fact(s) paired; "
                + (Counterfactuals.describe(skipped: skipped) ?? "none skipped"))
        return pairs.map { p in
            Fact(id: "known-\(p.fact.id)", prompt: p.fact.prompt, subject: p.fact.subject,
                 answer: p.fact.attribute, target: p.counterfactual.attribute,
                 counterfactual: p.counterfactual.prompt, counterfactualSubject: p.counterfactual.subject)
        }
    }

    /// One CounterFact record of the Hase et al. analysis: Hase's correctness check (36 greedy
    /// tokens contain the true object), p(true object), the tracing effect per layer (MLP window,
    /// traced token = the true object's first token as Hase's `explain_quantity='label'`, ν from
    /// the subject embeddings, effect floored at 0: `TraceResult.haseLayerEffects`) and, per
    /// layer, a ROME edit's rewrite/paraphrase/neighbourhood scores (`CounterFactOutcome`).
    func haseRecord(_ fact: Fact, _ recipe: AnalysisSettings, _ session: EditSession) throws -> JSONValue {
        let lm = session.lm
        let located = try SubjectTokens(prompt: fact.prompt, subject: fact.subject, tokenizer: lm.tokenizer)
        guard let kind = TraceKind(rawValue: recipe.tracing.kind) else { throw ExperimentError("kind") }
        let basis = try NoiseBasis(rawValue: recipe.tracing.noiseBasis)
            .orThrow(ExperimentError("tracing.noiseBasis: subjects or matrix"))
        let (std, noiseRecord) = try noiseUnit(lm, modelSHA256: session.sha, basis: basis, data: session.data)
        let trace = try CausalTracer(model: lm.model).trace(
            TraceRequest(tokens: located.tokens, subject: located.subject,
                         answer: lm.tokenizer.encodeContinuation(" " + fact.answer)[0],
                         continuation: answerContinuation(fact.answer, score: recipe.answerScore, tokenizer: lm.tokenizer)),
            corruption: .noise(scale: Float(recipe.tracing.noise) * std, samples: recipe.tracing.samples, seed: UInt64(recipe.seed)),
            configuration: TraceConfiguration(kinds: [kind], layers: recipe.layers, window: recipe.tracing.window))
        let generation = try session.generation(fact.prompt, tokens: 36)
        let record = try fact.record.orThrow(ExperimentError("hase facts come from CounterFact"))
        let pTrue = try lm.model.scoreContinuations(
            prompt: lm.tokenizer.encode(fact.prompt), continuations: [lm.tokenizer.encode(" " + fact.answer)])[0].total
        var rewrite: [Double] = [], paraphrase: [Double] = [], neighbourhood: [Double] = []
        var efficacy: [Bool] = []
        let before = try CounterFactMetrics.score(record, languageModel: lm)
        for layer in recipe.layers {
            let (backup, _) = try session.apply(
                EditRequest(prompt: fact.prompt, subject: fact.subject, target: fact.target),
                method: "rome", layer: layer)
            let after = try CounterFactMetrics.score(record, languageModel: lm)
            backup?.restore(into: lm.model)
            let o = CounterFactOutcome(caseID: record.caseID, before: before, after: after)
            rewrite.append(o.rewriteScore)
            paraphrase.append(o.paraphraseScore)
            neighbourhood.append(o.neighbourhoodScore)
            efficacy.append(o.efficacy)
        }
        return .object([
            ("fact", .string(fact.id)), ("prompt", .string(fact.prompt)), ("target", .string(fact.target)),
            ("true_object", .string(fact.answer)),
            ("layers", .array(recipe.layers.map(JSONValue.int))),
            ("generation", .string(generation)),
            ("correct", .bool(HaseFact.isCorrect(generation: generation, label: fact.answer))),
            ("p_true", .double(Foundation.exp(pTrue))),
            ("tracing_effect", JSONValue.rounded(trace.haseLayerEffects(kind) ?? [])),
            ("tracing_effect_unfloored_max", JSONValue.rounded(trace.layerEffects(kind) ?? [])),
            ("tracing_effect_last_subject", JSONValue.rounded(trace.lastSubjectTokenEffects(kind) ?? [])),
            ("traced_answer_rule", .string("given")),
            ("answer_score", .string(recipe.answerScore.rawValue)),
            ("clean_probability", .double(trace.clean.probability)),
            ("corrupt_probability", .double(trace.corrupt.probability)),
            ("noise_unit", noiseRecord), ("noise_scale", .float(Float(recipe.tracing.noise) * std)),
            ("rewrite_score", JSONValue.rounded(rewrite)), ("paraphrase_score", JSONValue.rounded(paraphrase)),
            ("neighbourhood_score", JSONValue.rounded(neighbourhood)), ("efficacy", .array(efficacy.map(JSONValue.bool))),
            ("seed", .int(Int(recipe.seed))), ("configuration", session.configuration(method: "rome", layers: recipe.layers)),
        ])
    }

    /// Per layer: does ROME (target = counterfactual answer) flip the label at the prompt, and
    /// does patching resid_post / mlp_out at the last subject token from the counterfactual run?
    func interchangeRecord(_ fact: Fact, _ recipe: AnalysisSettings, _ session: EditSession) throws -> JSONValue {
        let lm = session.lm
        let tokens = lm.tokenizer.encodePrompt(fact.prompt)
        let cf = lm.tokenizer.encodePrompt(fact.counterfactual!)
        let located = try SubjectTokens(prompt: fact.prompt, subject: fact.subject, tokenizer: lm.tokenizer)
        let o = lm.tokenizer.encodeContinuation(" " + fact.answer)[0]
        let o2 = lm.tokenizer.encodeContinuation(" " + fact.target)[0]
        let tracer = CausalTracer(model: lm.model)
        let position = located.subject.upperBound - 1
        let post = try tracer.interchangePatch(
            tokens: tokens, counterfactual: cf, position: position, layers: recipe.layers,
            site: .residualPost(layer: 0), answer: o, alternative: o2)
        let mlp = try tracer.interchangePatch(
            tokens: tokens, counterfactual: cf, position: position, layers: recipe.layers,
            site: .mlpOut(layer: 0), answer: o, alternative: o2)
        func diff() throws -> Double {
            let row = try lm.model.forward([tokens], logits: .last).last(sequence: 0)
            return Double(row[o] - row[o2])
        }
        let clean = try diff()
        var edited: [Double] = []
        for layer in recipe.layers {
            let (backup, _) = try session.apply(
                EditRequest(prompt: fact.prompt, subject: fact.subject, target: fact.target),
                method: "rome", layer: layer)
            edited.append(try diff())
            backup?.restore(into: lm.model)
        }
        return .object([
            ("fact", .string(fact.id)), ("prompt", .string(fact.prompt)),
            ("counterfactual", .string(fact.counterfactual!)),
            ("counterfactual_subject", fact.counterfactualSubject.map(JSONValue.string) ?? .null),
            ("answer", .string(fact.answer)),
            ("alternative", .string(fact.target)), ("layers", .array(recipe.layers.map(JSONValue.int))),
            ("clean_logit_difference", .double(clean)),
            ("edit_logit_difference", JSONValue.rounded(edited)), ("patch_resid_post_logit_difference", JSONValue.rounded(post)),
            ("patch_mlp_out_logit_difference", JSONValue.rounded(mlp)),
            ("seed", .int(Int(recipe.seed))), ("configuration", session.configuration(method: "rome", layers: recipe.layers)),
        ])
    }
}
