import ArgumentParser
import Foundation
import LocusCore
import OrderedCollections
import LocusData
import LocusModel
import LocusSteering

/// `locus eval preferences`: a model, unedited or with a steering file, on a preference file.
/// The scoring is `PreferenceEvaluator` (LocusSteering); this command reads, wires and prints.
struct EvalPreferences: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preferences",
        abstract: "Score a model, unedited or with a steering file, on a preference file (e.g. a held-out test set).",
        discussion: """
            For each pair (x, y⁺, y⁻): accuracy is the share of pairs with log π(y⁺|x) > log π(y⁻|x); \
            margin is the mean h = [log π(y⁺) − log π₀(y⁺)] − [log π(y⁻) − log π₀(y⁻)] against the \
            unedited model π₀ (0 without --steering); loss is the mean of the steering file's \
            objective (IPO or DPO) at h. The pairs are rendered in the steering file's prompt \
            template (or --prompt-template) and the edit fires at the positions it records, \
            scaled by --scale. Prints a summary on stderr; with --json one JSON object on stdout.
            """)

    @OptionGroup var options: ModelOptions
    @Option(help: "The preference file (.csv with a header or .jsonl).") var data: String
    @OptionGroup var preferenceData: PreferenceDataOptions
    @Option(help: "A steering file from `locus steer`.") var steering: String?
    @Option(parsing: .unconditional, help: "Multiplier of the steering edit (any sign; 0 = unedited, -1 = the opposite direction).")
    var scale: Float = 1
    @Option(help: "Score at most this many pairs (the file's first; 0 = all).") var limit = 0
    @Option(help: "Preference pairs per forward call.") var batchSize = 4
    @Option(help: "Loss to report without a steering file, or instead of its own: ipo or dpo.") var loss: String?
    @Option(help: "IPO τ for --loss ipo.") var tau = 0.1
    @Option(help: "DPO β for --loss dpo.") var beta = 0.1
    @Flag(help: "Print one JSON object on stdout.") var json = false

    func validate() throws {
        guard scale.isFinite else { throw ValidationError("--scale must be finite") }
        guard limit >= 0 else { throw ValidationError("--limit must be ≥ 0 (0 = all)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        if let loss, !["ipo", "dpo"].contains(loss) { throw ValidationError("--loss must be ipo or dpo") }
        guard tau > 0, tau.isFinite, beta > 0, beta.isFinite else { throw ValidationError("--tau and --beta must be positive and finite") }
    }

    func run() throws {
        let started = Date()
        let lm = try options.load()
        let modelSHA = try SHA256.hex(ofCheckpoint: lm.url)
        let file = try steering.map { try SteeringLoading.load($0, for: lm) }
        let requested = try preferenceData.requestedTemplate(model: lm.url)
        var template = requested ?? file?.promptTemplate ?? .bare
        if template == .truthfulQA { template = .bare }  // a TruthfulQA-trained file on a preference file: its prompts as written
        if let requested, let trained = file?.promptTemplate, requested != trained {
            printError("warning: scoring in prompt template \(requested.rawValue), but \(steering!) was trained in \(trained.rawValue)")
        }
        let contents = try preferenceData.load(data, label: "eval preferences")
        if let trainedOn = file?.dataSHA256, trainedOn == contents.sha256 {
            printError("warning: \(data) is the file \(steering!) was trained on (same sha256): these pairs are not held out")
        }
        var pairs = contents.pairs
        if limit > 0 { pairs = Array(pairs.prefix(limit)) }
        let (prefix, tokenized) = template.tokenize(template.render(pairs), tokenizer: lm.tokenizer)
        let objective: PreferenceObjective? =
            loss.map { $0 == "ipo" ? .ipo(tau: tau) : .dpo(beta: beta) } ?? file?.objective
        let evaluator = PreferenceEvaluator(
            model: lm.model, sharedPrefix: prefix, lengthNormalized: file?.lengthNormalized ?? false, batchSize: batchSize)
        let edit = file.map { $0.parameters.scaled(by: scale) }
        printError(
            "eval preferences: \(tokenized.count) pairs of \(data), prompt template \(template.rawValue), "
                + (file.map { "steering \(steering!) (\($0.parameters.parameterization.rawValue) at \($0.parameters.target), scale \(scale))" } ?? "unedited"))
        var progress: PassProgress? = nil
        var pass: PreferenceEvaluator.Pass? = nil
        let score: PreferenceScore
        do {
            score = try evaluator.score(
                tokenized, edit: edit, positions: file?.positions ?? .afterPrefix, objective: objective
            ) { p, done, total in
                if pass != p {
                    pass = p
                    progress = PassProgress(label: p == .reference ? "π₀ (unedited) log-probs" : "π (steered) log-probs")
                }
                progress!.update(done, total)
            }
        } catch let e as SteeringError { throw RunFailure("\(data): \(e)") }
        let seconds = Date().timeIntervalSince(started)
        printError(
            String(
                format: "pairs %d  accuracy %.4f (unedited %.4f)  margin %+.4f ± %.4f  improved %.3f  loss %@  (%.1f s)",
                score.pairs, score.accuracy, score.referenceAccuracy, score.margin, score.marginStandardError,
                score.shareImproved, score.loss.map { String(format: "%.4f", $0) } ?? "n/a", seconds))
        guard json else { return }
        var fields = OrderedDictionary<String, JSONValue>()
        fields["pairs"] = .integer(score.pairs)
        fields["accuracy"] = .number(score.accuracy)
        fields["margin"] = .number(score.margin)
        fields["loss"] = score.loss.map({ JSONValue.number($0) }) ?? .null
        fields["margin_standard_error"] = .number(score.marginStandardError)
        fields["reference_accuracy"] = .number(score.referenceAccuracy)
        fields["share_improved"] = .number(score.shareImproved)
        fields["mean_chosen_logprob"] = .number(score.meanChosenLogProbability)
        fields["mean_rejected_logprob"] = .number(score.meanRejectedLogProbability)
        fields["answer_tokens"] = .integer(score.answerTokens)
        fields["objective"] = objective.map { JSONValue.string("\($0)") } ?? .null
        fields["length_normalized"] = .bool(evaluator.lengthNormalized)
        fields["data"] = .string(data)
        fields["data_sha256"] = .string(contents.sha256)
        fields["columns"] = .string(preferenceData.columns)
        fields["skipped_rows"] = .integer(contents.skipped.count)
        fields["skipped_lines"] = .array(contents.skipped.map { JSONValue.integer($0.line) })
        fields["limit"] = .integer(limit)
        fields["prompt_template"] = .string(template.rawValue)
        fields["prompt_template_pattern"] = template.pattern.map(JSONValue.string) ?? .null
        fields["shared_prefix_tokens"] = .integer(prefix.count)
        fields["model"] = .string(lm.url.path)
        fields["model_sha256"] = .string(modelSHA)
        fields["steering"] = steering.map(JSONValue.string) ?? .null
        fields["scale"] = file == nil ? JSONValue.null : .number(Double(scale))
        if let file {
            fields["parameterization"] = .string(file.parameters.parameterization.rawValue)
            fields["target"] = .string(file.parameters.target)
            fields["positions"] = .string(file.positions.rawValue)
            fields["trained_on_sha256"] = file.dataSHA256.map(JSONValue.string) ?? .null
        }
        fields["threads"] = .integer(options.threads)
        fields["numerics"] = .object(options.numericsRecord)
        fields["seconds"] = .number(seconds)
        printJSON(.object(fields))
    }
}
