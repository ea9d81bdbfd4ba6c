import LocusCore
import ArgumentParser
import Foundation
import LocusExperiments
import LocusData
import LocusFigures
import LocusModel
import LocusTokenizer
import LocusTracing

/// `locus trace`: causal tracing of facts (METHODS.md §6).
struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Causal tracing: corrupt the subject, restore states, grid of answer recovery.",
        discussion: """
            A prompt (--prompt, --subject, --answer) or known facts (--known 0,1,2 from \
            knowns/known_1000.json, answer = the fact's attribute). Noise corruption by default \
            (ν = --noise × the std of the known facts' subject-token embeddings, ROME's \
            collect_embedding_std, cached under runs/cache/noise-level; --noise-basis matrix for \
            the whole embedding matrix; --samples draws from --seed). The traced token is the \
            model's own top prediction (--traced-answer prediction, ROME) or the given answer's \
            first token (--traced-answer given, Hase et al.); both are recorded. With \
            --traced-answer given, --answer-score whole-answer scores p(the whole answer string) \
            as belief-localization does instead of p(its first token). \
            --interchange PROMPT (or --interchange-auto for known facts: another fact of the same \
            template whose subject has as many tokens and a different answer) corrupts by \
            swapping the subject instead and adds logit differences. One JSON record per fact on \
            stdout (grids, normalised per-layer effects, seeds, model sha256); --svg-dir writes \
            one heat map per fact and kind.
            """)

    @OptionGroup var options: ModelOptions
    @Option(help: "Prompt containing the subject.") var prompt: String?
    @Option(help: "The subject (must occur in the prompt).") var subject: String?
    @Option(help: "Expected answer (with --traced-answer given its first token is scored).") var answer: String?
    @Option(help: "Traced token: prediction (the model's top token, ROME) or given (the answer's first token, Hase).")
    var tracedAnswer: TracedAnswer = .prediction
    @Option(help: "With --traced-answer given: first-token (p of the answer's first token) or whole-answer (p of the whole answer string, belief-localization).")
    var answerScore: TraceAnswerScore = .firstToken
    @Option(help: "Noise unit: subjects (std of the known facts' subject embeddings, ROME) or matrix (whole embedding matrix).")
    var noiseBasis: NoiseBasis = .subjects
    @Option(help: "Known-fact ids (comma-separated) from knowns/known_1000.json.") var known: String?
    @Option(help: "Kinds: hidden,mlp,attention.") var kinds: String = "hidden,mlp,attention"
    @Option(help: "Layers: all, or a comma list.") var layers: String = "all"
    @Option(help: "Window of MLP/attention restorations.") var window: Int = 10
    @Option(help: "Noise samples.") var samples: Int = 10
    @Option(help: "Noise scale ν in units of --noise-basis's std (ROME: 3).") var noise: Double = 3
    @Option(help: "Noise seed.") var seed: UInt64 = 0
    @Option(help: "Counterfactual prompt for interchange corruption.") var interchange: String?
    @Option(help: "Counterfactual answer (for logit differences).") var alternative: String?
    @Flag(help: "Choose the counterfactual known fact automatically.") var interchangeAuto = false
    @Flag(help: "Restore .residualPre instead of .residualPost for the hidden kind.") var before = false
    @Option(help: "Sequences per forward call.") var batch: Int = 160
    @Option(help: "Folder for SVG heat maps.") var svgDir: String?
    @Option(help: "Write the noise draws (samples × subject tokens × width, float32 little-endian) here, so a peer can reuse them (one fact only).")
    var noiseFile: String?

    func run() throws {
        let lm = try options.load()
        let sha = try SHA256.hex(ofCheckpoint: try options.resolvedURL())
        let kindList = try kinds.split(separator: ",").map { name -> TraceKind in
            guard let k = TraceKind(rawValue: String(name)) else {
                throw ValidationError("unknown kind '\(name)' (hidden, mlp, attention)")
            }
            return k
        }
        let layerList = try parseLayers(layers, count: lm.config.layerCount)
        let configuration = TraceConfiguration(
            kinds: kindList, layers: layerList, window: window, hiddenBeforeBlock: before,
            batchSequences: batch)
        var jobs: [TraceJob] = []
        if let known {
            let data = try DataLocation.resolve(
                searchFrom: [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)])
            let facts = try KnownFacts.load(data.url("knowns/known_1000.json"))
            for id in known.split(separator: ",").compactMap({ Int($0) }) {
                guard let fact = facts.first(where: { $0.id == id }) else {
                    throw ValidationError("no known fact \(id)")
                }
                var job = TraceJob(
                    id: "known-\(id)", prompt: fact.prompt, subject: fact.subject,
                    answer: fact.attribute, counterfactual: nil, alternative: nil)
                if interchangeAuto {
                    let other: KnownFact
                    switch Counterfactuals.find(for: fact, among: facts, tokenizer: lm.tokenizer) {
                    case .success(let f): other = f
                    case .failure(let e): throw ValidationError("no counterfactual for known fact \(id): \(e)")
                    }
                    job.counterfactual = other.prompt
                    job.alternative = other.attribute
                }
                jobs.append(job)
            }
        } else {
            guard let prompt, let subject else {
                throw ValidationError("give --prompt and --subject (and --answer), or --known IDS")
            }
            guard answer != nil || tracedAnswer == .prediction else {
                throw ValidationError("--traced-answer given needs --answer")
            }
            jobs.append(
                TraceJob(
                    id: "prompt", prompt: prompt, subject: subject, answer: answer ?? "",
                    counterfactual: interchange, alternative: alternative))
        }
        guard answerScore == .firstToken || tracedAnswer == .given else {
            throw ValidationError("--answer-score whole-answer needs --traced-answer given (a prediction is one token)")
        }
        let (std, noiseRecord) = try noiseUnit(lm, modelSHA256: sha, basis: noiseBasis)
        let tracer = CausalTracer(model: lm.model)
        for job in jobs {
            let located = try SubjectTokens(prompt: job.prompt, subject: job.subject, tokenizer: lm.tokenizer)
            let predicted = try lm.model.forward([located.tokens], logits: .last).last(sequence: 0)
            let top = predicted.indices.max { predicted[$0] < predicted[$1] }!
            let answerToken: Int
            switch tracedAnswer {
            case .prediction: answerToken = top
            case .given:
                guard let first = lm.tokenizer.encodeContinuation(" " + job.answer).first else {
                    throw ValidationError("answer '\(job.answer)' has no tokens")
                }
                answerToken = first
            }
            let request = TraceRequest(
                tokens: located.tokens, subject: located.subject,
                answer: answerToken,
                alternative: job.alternative.map { lm.tokenizer.encodeContinuation(" " + $0)[0] },
                continuation: tracedAnswer == .given
                    ? answerContinuation(job.answer, score: answerScore, tokenizer: lm.tokenizer) : [])
            let corruption: Corruption
            if let cf = job.counterfactual {
                corruption = .interchange(tokens: lm.tokenizer.encodePrompt(cf))
            } else {
                corruption = .noise(scale: Float(noise) * std, samples: samples, seed: seed)
                if let noiseFile {
                    guard jobs.count == 1 else { throw ValidationError("--noise-file needs exactly one fact") }
                    let draws = CausalTracer.noise(
                        scale: Float(noise) * std, samples: samples, seed: seed,
                        subjectLength: located.subject.count, width: lm.config.hiddenSize)
                    var data = Data()
                    for d in draws { d.withUnsafeBytes { data.append(contentsOf: $0) } }
                    try AtomicFile.write(data, to: URL(fileURLWithPath: noiseFile))
                }
            }
            let progress = ProgressReporter(label: "trace \(job.id)")
            let start = Date()
            let result = try tracer.trace(
                request, corruption: corruption, configuration: configuration,
                progress: progress.update)
            let seconds = Date().timeIntervalSince(start)
            progress.finish()
            let labels = located.tokens.map { lm.tokenizer.decode([$0]) }
            printJSON(
                traceRecord(
                    job: job, result: result, labels: labels, seconds: seconds, sha: sha,
                    std: std, configuration: configuration, noiseRecord: noiseRecord,
                    top: top, tokenizer: lm.tokenizer))
            if let svgDir {
                try writeHeatMaps(
                    result, labels: labels, id: job.id, directory: svgDir, job: job,
                    answerText: lm.tokenizer.decode([result.answer]).trimmingCharacters(in: .whitespaces))
            }
        }
    }

    func traceRecord(
        job: TraceJob, result: TraceResult, labels: [String], seconds: Double, sha: String,
        std: Float, configuration: TraceConfiguration, noiseRecord: JSONValue, top: Int,
        tokenizer: any Tokenizer
    ) -> JSONValue {
        let topText = tokenizer.decode([top])
        var grids: [JSONValue] = []
        for grid in result.grids {
            var fields: [(String, JSONValue)] = [
                ("kind", .string(grid.kind.rawValue)), ("window", .int(grid.window)),
                ("probability", matrix(grid.probability)),
                ("normalized", matrix(result.normalized(grid.kind) ?? [])),
                ("layer_effect_max_over_tokens", vector(result.layerEffects(grid.kind) ?? [])),
                ("layer_effect_last_subject_token", vector(result.lastSubjectTokenEffects(grid.kind) ?? [])),
                ("layer_effect_hase", vector(result.haseLayerEffects(grid.kind) ?? [])),
            ]
            if let d = grid.logitDifference {
                fields.append(("logit_difference", matrix(d)))
                fields.append(
                    ("layer_effect_logit_difference",
                     vector(result.layerEffects(grid.kind, metric: .logitDifference) ?? [])))
            }
            grids.append(.object(fields))
        }
        return .object([
            ("id", .string(job.id)), ("prompt", .string(job.prompt)), ("subject", .string(job.subject)),
            ("answer", .string(job.answer)),
            ("traced_answer_rule", .string(tracedAnswer.rawValue)),
            ("traced_answer_token", .int(result.answer)),
            ("traced_answer_text", .string(tokenizer.decode([result.answer] + (result.continuation ?? [])))),
            ("answer_score", .string(answerScore.rawValue)),
            ("answer_score_tokens", .int(1 + (result.continuation ?? []).count)),
            ("prediction", .string(topText)),
            // ROME's check (causal_trace.py L318): answer.strip() == expect.
            ("prediction_matches_expected",
             job.answer.isEmpty ? .null : .bool(topText.trimmingCharacters(in: .whitespaces) == job.answer)),
            ("counterfactual", job.counterfactual.map(JSONValue.string) ?? .null),
            ("alternative", job.alternative.map(JSONValue.string) ?? .null),
            ("tokens", .array(labels.map(JSONValue.string))),
            ("subject_tokens", .array([.int(result.subjectStart), .int(result.subjectEnd)])),
            ("clean_probability", .double(result.clean.probability)),
            ("corrupt_probability", .double(result.corrupt.probability)),
            ("clean_logit_difference", result.clean.logitDifference.map(JSONValue.double) ?? .null),
            ("corrupt_logit_difference", result.corrupt.logitDifference.map(JSONValue.double) ?? .null),
            ("layers", .array((configuration.layers ?? []).map(JSONValue.int))),
            ("grids", .array(grids)),
            ("corruption", .string(job.counterfactual == nil ? "noise" : "interchange")),
            ("noise_scale", result.noiseScale.map { .float($0) } ?? .null),
            ("embedding_std", .float(std)), ("noise_unit", noiseRecord), ("samples", .int(result.samples)),
            ("seed", result.seed.map { .int(Int($0)) } ?? .null),
            ("hidden_site", .string(before ? "resid_pre" : "resid_post")),
            ("model_sha256", .string(sha)), ("threads", .int(options.threads)),
            ("numerics", .object(options.numericsRecord)),
            ("seconds", .double(seconds)),
        ])
    }

    func writeHeatMaps(
        _ result: TraceResult, labels: [String], id: String, directory: String, job: TraceJob,
        answerText: String
    ) throws
    {
        let dir = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let colors: [TraceKind: (Double, Double, Double)] = [
            .hidden: (0.29, 0.10, 0.55), .mlp: (0.0, 0.45, 0.2), .attention: (0.7, 0.1, 0.1),
        ]
        for grid in result.grids {
            let metric: TraceMetric = grid.logitDifference == nil ? .probability : .logitDifference
            let values = grid.values(metric)!
            let what = grid.kind == .hidden ? "single state" : "\(grid.kind.rawValue) window \(grid.window)"
            let map = TraceHeatMap(
                values: values, tokenLabels: labels, layerLabels: grid.layers, subject: result.subject,
                title: "Restoring \(what) · \(job.prompt) → \(answerText)",
                valueLabel: metric == .probability ? "p(\(answerText))" : "logit diff",
                color: colors[grid.kind]!)
            let url = dir.appendingPathComponent("trace-\(id)-\(grid.kind.rawValue).svg")
            try AtomicFile.write(map.svg(), to: url)
            printError("wrote \(url.path)")
        }
    }
}

/// One fact to trace.
struct TraceJob {
    var id: String
    var prompt: String
    var subject: String
    var answer: String
    var counterfactual: String?
    var alternative: String?

}

func parseLayers(_ text: String, count: Int) throws -> [Int] {
    if text == "all" { return Array(0..<count) }
    if text.hasPrefix("every:") , let k = Int(text.dropFirst(6)), k > 0 {
        return Array(stride(from: 0, to: count, by: k))
    }
    let list = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !list.isEmpty, list.allSatisfy({ $0 >= 0 && $0 < count }) else {
        throw ValidationError("--layers: 'all', 'every:K' or a comma list of 0..<\(count)")
    }
    return list
}

func matrix(_ m: [[Double]]) -> JSONValue { .array(m.map(vector)) }
func vector(_ v: [Double]) -> JSONValue { .rounded(v) }

extension NoiseBasis: ExpressibleByArgument {}
extension TracedAnswer: ExpressibleByArgument {}
extension TraceAnswerScore: ExpressibleByArgument {}
