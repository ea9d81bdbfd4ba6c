import LocusCore
import Foundation
import LocusData
import LocusEditing
import LocusModel

/// A loaded model with its sha256, ROME editor and key statistics (cached on disk).
public final class EditSession {
    public let lm: LanguageModel
    /// The checkpoint's sha256 (`SHA256.hex(ofCheckpoint:)`), recorded and keying the caches.
    public let sha: String
    public let settings: EditConfiguration
    public let editor: ROMEEditor
    public var statistics: [Int: KeyStatistics] = [:]
    /// BLAS threads, recorded in the configuration.
    public let threads: Int
    /// Data folder for the key statistics' wikitext-2 (nil: `dataLocation(nil)`).
    public let data: String?

    public init(lm: LanguageModel, modelSHA256: String, settings: EditConfiguration, threads: Int, data: String? = nil) {
        self.lm = lm
        self.data = data
        sha = modelSHA256
        self.settings = settings
        editor = ROMEEditor(languageModel: lm)
        self.threads = threads
    }

    /// Statistics for `layers`: read from the cache, the missing ones computed in one pass.
    public func prepareStatistics(_ layers: [Int]) throws {
        let sample = settings.sample
        let dir = URL(fileURLWithPath: settings.statsCache)
        var missing: [Int] = []
        for l in layers where statistics[l] == nil {
            let url = KeyStatistics.cacheURL(directory: dir, modelSHA256: sha, layer: l, sample: sample)
            if let s = try? KeyStatistics.read(from: url) { statistics[l] = s } else { missing.append(l) }
        }
        guard !missing.isEmpty else { return }
        let data = try dataLocation(self.data)
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
    public func apply(_ request: EditRequest, method: String, layer: Int) throws -> (WeightBackup?, JSONValue) {
        switch method {
        case "rome":
            try prepareStatistics([layer])
            let (backup, r) = try editor.edit(request, hyper: settings.rome(layer: layer), statistics: statistics[layer]!)
            let norm = r.delta.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return (backup, .object([
                ("losses", JSONValue.rounded(r.losses)), ("total_losses", JSONValue.rounded(r.totalLosses)),
                ("updates", .int(r.updates)), ("kl", .double(r.klLast)), ("delta_norm", .float(norm)),
                ("context_prefixes", .string(settings.contextPrefixes)),
                ("context_texts", .array(r.contexts.map(JSONValue.string))),
                ("seconds", .double(r.seconds)),
            ]))
        case "ft":
            let start = Date()
            let (backup, losses) = try FineTuning.edit(
                request, languageModel: lm, hyper: settings.fineTuning(layer: layer))
            return (backup, .object([
                ("losses", JSONValue.rounded(losses)), ("seconds", .double(Date().timeIntervalSince(start))),
            ]))
        case "none": return (nil, .object([]))
        default: throw ExperimentError("unknown method '\(method)' (rome, ft, none)")
        }
    }

    /// `tokens` greedy tokens after `prompt`, decoded (the edit in place, if any).
    public func generation(_ prompt: String, tokens: Int) throws -> String {
        let ids = try lm.model.generateGreedy(prompt: lm.tokenizer.encodePrompt(prompt), maxTokens: tokens)
        return lm.tokenizer.decode(ids)
    }

    /// The configuration every record carries.
    /// `layers`: the edit layers of an analysis that edits at several layers (replaces "layer").
    public func configuration(method: String, layers: [Int]? = nil) -> JSONValue {
        let s = settings
        let layerField: (String, JSONValue) =
            layers.map { ("layers", .array($0.map(JSONValue.int))) } ?? ("layer", .int(s.layer))
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

    /// Edits every record in turn (undoing each), handing one JSON record per edit to
    /// `onRecord`; returns the summary record.
    public func evaluate(
        _ records: [CounterFactRecord], method: String, generate: Int, label: String,
        onRecord: (JSONValue) -> Void
    ) throws -> JSONValue {
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
            onRecord(.object([
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
                ("generation_before", genBefore.map(JSONValue.string) ?? .null),
                ("generation_after", genAfter.map(JSONValue.string) ?? .null),
                ("optimisation", info),
            ]))
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
