import ArgumentParser
import Foundation
import LocusData
import LocusEditing
import LocusModel

/// `locus eval counterfact` (a type for the `eval` command's subcommand list): edit each of N
/// CounterFact records with ROME or FT-L (or none), score rewrite/paraphrase/neighbourhood
/// before and after, undo, and summarise (METHODS.md §7).
struct EvalCounterFact: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "counterfact",
        abstract: "CounterFact efficacy, paraphrase and neighbourhood of ROME/FT-L edits.")

    @OptionGroup var options: ModelOptions
    @OptionGroup var edit: EditSettings
    @Option(help: "Method: rome, ft or none.") var method: String = "rome"
    @Option(help: "Records to edit.") var records: Int = 100
    @Option(help: "First record (index into the file).") var offset: Int = 0
    @Option(help: "CounterFact file inside the data folder.") var file: String = "counterfact/counterfact-val.json"
    @Option(help: "Greedy tokens generated before and after each edit (0 = none).") var generate: Int = 0

    func run() throws {
        let lm = try options.load()
        let session = try EditSession(lm: lm, options: options, settings: edit)
        let data = try DataLocation.resolve(
            searchFrom: [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)])
        let all = try CounterFact.load(data.url(file))
        let chosen = Array(all.dropFirst(offset).prefix(records))
        let summary = try session.evaluate(
            chosen, method: method, generate: generate, label: "counterfact \(method)")
        printJSON(summary)
    }
}

/// Edit settings shared by `edit rome|ft` and `eval counterfact`.
struct EditSettings: ParsableArguments {
    @Option(help: "Layer to edit.") var layer: Int = 12
    @Option(help: "ROME: loss evaluations for δ (v_num_grad_steps; at most steps − 1 updates).") var steps: Int = 20
    @Option(help: "ROME: generated context prefixes for k* and v*.") var contexts: Int = 20
    @Option(help: "ROME: seed of the context prefixes (sampled: the top-k draws; greedy: the opening words).") var contextSeed: UInt64 = 0
    @Option(help: "ROME: context prefixes: sampled (ROME: top-5 sampling from <|endoftext|>, 4 and 9 new tokens) or greedy (Locus's earlier rule: opening words continued greedily).")
    var contextPrefixes: String = ContextPrefixStyle.sampled.rawValue
    @Option(help: "ROME: learning rate of δ.") var learningRate: Double = 0.5
    @Option(help: "ROME: KL factor.") var klFactor: Double = 0.0625
    @Option(help: "ROME: early stop: total-loss (ROME: loss < 0.05) or never (belief-localization's ROME).")
    var romeEarlyStop: String = ROMEEarlyStop.totalLoss.rawValue
    @Option(help: "ROME: key in the update's denominator: prompt (ROME: k of the unprefixed prompt) or averaged (k over the contexts).")
    var romeUpdateKey: String = ROMEUpdateKey.prompt.rawValue
    @Option(help: "Key statistics: wikitext-2 split.") var statsSplit: String = "test"
    @Option(help: "Key statistics: tokens per chunk.") var statsChunkTokens: Int = 128
    @Option(help: "Key statistics: chunks.") var statsChunks: Int = 256
    @Option(help: "Key statistics: seed of the chunk sample.") var statsSeed: UInt64 = 0
    @Option(help: "Key statistics cache folder.") var statsCache: String = "runs/cache/key-statistics"
    @Option(help: "FT-L: steps.") var ftSteps: Int = 25
    @Option(help: "FT-L: learning rate.") var ftLearningRate: Double = 5e-4
    @Option(help: "FT-L: L∞ bound ε.") var ftEpsilon: Float = 5e-4

    var sample: KeyStatisticsSample {
        KeyStatisticsSample(
            split: statsSplit, chunkTokens: statsChunkTokens, chunkCount: statsChunks, seed: statsSeed)
    }

    func rome(layer: Int) -> ROMEHyperparameters {
        var h = ROMEHyperparameters(layer: layer)
        h.steps = steps
        h.contextCount = contexts
        h.contextSeed = contextSeed
        h.contextStyle = ContextPrefixStyle(rawValue: contextPrefixes) ?? .sampled
        h.learningRate = learningRate
        h.klFactor = klFactor
        h.earlyStop = ROMEEarlyStop(rawValue: romeEarlyStop) ?? .totalLoss
        h.updateKey = ROMEUpdateKey(rawValue: romeUpdateKey) ?? .prompt
        return h
    }

    func validate() throws {
        guard ROMEEarlyStop(rawValue: romeEarlyStop) != nil else {
            throw ValidationError("--rome-early-stop: total-loss or never, not '\(romeEarlyStop)'")
        }
        guard ContextPrefixStyle(rawValue: contextPrefixes) != nil else {
            throw ValidationError("--context-prefixes: sampled or greedy, not '\(contextPrefixes)'")
        }
        guard ROMEUpdateKey(rawValue: romeUpdateKey) != nil else {
            throw ValidationError("--rome-update-key: prompt or averaged, not '\(romeUpdateKey)'")
        }
    }

    func fineTuning(layer: Int) -> FineTuningHyperparameters {
        var h = FineTuningHyperparameters(layer: layer)
        h.steps = ftSteps
        h.learningRate = ftLearningRate
        h.normConstraint = ftEpsilon
        return h
    }
}

/// A loaded model with its sha256, ROME editor and key statistics (cached on disk).
final class EditSession {
    let lm: LanguageModel
    let sha: String
    let settings: EditSettings
    let editor: ROMEEditor
    var statistics: [Int: KeyStatistics] = [:]
    let threads: Int

    init(lm: LanguageModel, options: ModelOptions, settings: EditSettings) throws {
        self.lm = lm
        sha = try SHA256.hex(ofCheckpoint: try options.resolvedURL())
        self.settings = settings
        editor = ROMEEditor(languageModel: lm)
        threads = options.threads
    }

    /// Statistics for `layers`: read from the cache, the missing ones computed in one pass.
    func prepareStatistics(_ layers: [Int]) throws {
        let sample = settings.sample
        let dir = URL(fileURLWithPath: settings.statsCache)
        var missing: [Int] = []
        for l in layers where statistics[l] == nil {
            let url = KeyStatistics.cacheURL(directory: dir, modelSHA256: sha, layer: l, sample: sample)
            if let s = try? KeyStatistics.read(from: url) { statistics[l] = s } else { missing.append(l) }
        }
        guard !missing.isEmpty else { return }
        let data = try DataLocation.resolve(
            searchFrom: [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)])
        let documents = try WikiText.load(data.wikiText2(sample.split))
        let tokenizer = lm.tokenizer
        let chunks = KeyStatistics.chunks(
            documents: documents, tokenizer: { tokenizer.encodePrompt($0) }, sample: sample)
        let progress = ProgressReporter(label: "key statistics, layers \(missing)")
        let start = Date()
        let computed = try KeyStatistics.compute(
            model: lm.model, layers: missing, chunks: chunks, progress: progress.update)
        progress.finish()
        printError(
            String(format: "key statistics: %d tokens, %.1f s", computed[missing[0]]!.count,
                   Date().timeIntervalSince(start)))
        for (l, s) in computed {
            try s.write(to: KeyStatistics.cacheURL(directory: dir, modelSHA256: sha, layer: l, sample: sample))
            statistics[l] = s
        }
    }

    /// Applies one edit; returns the backup and a JSON description of the optimisation.
    func apply(_ request: EditRequest, method: String, layer: Int) throws -> (WeightBackup?, JSON) {
        switch method {
        case "rome":
            try prepareStatistics([layer])
            let (backup, r) = try editor.edit(request, hyper: settings.rome(layer: layer), statistics: statistics[layer]!)
            let norm = r.delta.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return (backup, .object([
                ("losses", vector(r.losses)), ("total_losses", vector(r.totalLosses)),
                ("updates", .int(r.updates)), ("kl", .double(r.klLast)), ("delta_norm", .float(norm)),
                ("context_prefixes", .string(settings.contextPrefixes)),
                ("context_texts", .array(r.contexts.map(JSON.string))),
                ("seconds", .double(r.seconds)),
            ]))
        case "ft":
            let start = Date()
            let (backup, losses) = try FineTuning.edit(
                request, languageModel: lm, hyper: settings.fineTuning(layer: layer))
            return (backup, .object([
                ("losses", vector(losses)), ("seconds", .double(Date().timeIntervalSince(start))),
            ]))
        case "none": return (nil, .object([]))
        default: throw ValidationError("unknown method '\(method)' (rome, ft, none)")
        }
    }

    func generation(_ prompt: String, tokens: Int) throws -> String {
        let ids = try lm.model.generateGreedy(prompt: lm.tokenizer.encodePrompt(prompt), maxTokens: tokens)
        return lm.tokenizer.decode(ids)
    }

    /// The configuration every record carries.
    /// `layers`: the edit layers of an analysis that edits at several layers (replaces "layer").
    func configuration(method: String, layers: [Int]? = nil) -> JSON {
        let s = settings
        let layerField: (String, JSON) =
            layers.map { ("layers", .array($0.map(JSON.int))) } ?? ("layer", .int(s.layer))
        return .object([
            ("method", .string(method)), layerField, ("steps", .int(s.steps)),
            ("contexts", .int(s.contexts)), ("context_seed", .int(Int(s.contextSeed))),
            ("context_prefixes", .string(s.contextPrefixes)),
            ("learning_rate", .double(s.learningRate)), ("kl_factor", .double(s.klFactor)),
            ("weight_decay", .double(0.5)), ("weight_decay_form", .string("norm")),
            ("kl", .string("KL(p_delta || p_0)")), ("clamp_factor", .double(4)),
            ("early_stop", .string(s.romeEarlyStop)), ("update_key", .string(s.romeUpdateKey)),
            ("key_statistics", .string(s.sample.description)), ("ft_steps", .int(s.ftSteps)),
            ("ft_learning_rate", .double(s.ftLearningRate)), ("ft_epsilon", .float(s.ftEpsilon)),
            ("model_sha256", .string(sha)), ("threads", .int(threads)),
        ])
    }

    /// Edits every record in turn (undoing each), printing one JSON line per record; returns
    /// the summary record.
    func evaluate(
        _ records: [CounterFactRecord], method: String, generate: Int, label: String
    ) throws -> JSON {
        var outcomes: [CounterFactOutcome] = []
        let progress = ProgressReporter(label: label)
        for (i, record) in records.enumerated() {
            let before = try CounterFactMetrics.score(record, languageModel: lm)
            let genBefore = generate > 0 ? try generation(record.prompt, tokens: generate) : nil
            let request = EditRequest(prompt: record.prompt, subject: record.subject, target: record.targetNew)
            let (backup, info) = try apply(request, method: method, layer: settings.layer)
            let after = try CounterFactMetrics.score(record, languageModel: lm)
            let genAfter = generate > 0 ? try generation(record.prompt, tokens: generate) : nil
            backup?.restore(into: lm.model)
            let outcome = CounterFactOutcome(caseID: record.caseID, before: before, after: after)
            outcomes.append(outcome)
            printJSON(.object([
                ("case_id", .int(record.caseID)), ("prompt", .string(record.prompt)),
                ("target_new", .string(record.targetNew)), ("ground_truth", .string(record.groundTruth)),
                ("efficacy", .bool(outcome.efficacy)), ("paraphrase", .bool(outcome.paraphrase)),
                ("neighbourhood", .bool(outcome.neighbourhood)),
                ("rewrite_score", .double(outcome.rewriteScore)),
                ("paraphrase_score", .double(outcome.paraphraseScore)),
                ("neighbourhood_score", .double(outcome.neighbourhoodScore)),
                ("p_new_before", .double(before.rewrite.probabilityNew)),
                ("p_new_after", .double(after.rewrite.probabilityNew)),
                ("p_true_before", .double(before.rewrite.probabilityTrue)),
                ("p_true_after", .double(after.rewrite.probabilityTrue)),
                ("generation_before", genBefore.map(JSON.string) ?? .null),
                ("generation_after", genAfter.map(JSON.string) ?? .null),
                ("optimisation", info),
            ]))
            fflush(nil)  // flush every stream: one line per record, visible while the run continues
            progress.update(i + 1, records.count)
        }
        progress.finish()
        let s = CounterFactSummary(outcomes)
        func pct(_ x: Double) -> String { String(format: "%.1f%%", 100 * x) }
        func num(_ x: Double) -> String { String(format: "%.3f", x) }
        printError(
            "\(method) over \(s.count) records: efficacy \(pct(s.efficacy)) (before \(pct(s.efficacyBefore))), "
                + "paraphrase \(pct(s.paraphrase)) (before \(pct(s.paraphraseBefore))), "
                + "neighbourhood \(pct(s.neighbourhood)) (before \(pct(s.neighbourhoodBefore))); "
                + "scores rewrite \(num(s.rewriteScore)) paraphrase \(num(s.paraphraseScore)) "
                + "neighbourhood \(num(s.neighbourhoodScore))")
        return .object([
            ("summary", .string("counterfact")), ("records", .int(s.count)),
            ("efficacy", .double(s.efficacy)), ("paraphrase", .double(s.paraphrase)),
            ("neighbourhood", .double(s.neighbourhood)),
            ("efficacy_before", .double(s.efficacyBefore)),
            ("paraphrase_before", .double(s.paraphraseBefore)),
            ("neighbourhood_before", .double(s.neighbourhoodBefore)),
            ("rewrite_score", .double(s.rewriteScore)), ("paraphrase_score", .double(s.paraphraseScore)),
            ("neighbourhood_score", .double(s.neighbourhoodScore)),
            ("first_case_id", .int(records.first?.caseID ?? -1)),
            ("configuration", configuration(method: method)),
        ])
    }
}
