import LocusCore
import ArgumentParser
import Foundation
import LocusExperiments
import LocusData
import LocusFigures
import LocusModel
import LocusProbing

/// `locus probe`: ITI's probing step on TruthfulQA (Li et al. 2023; METHODS.md §2).
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Probe every attention head for truthfulness (ITI): activations, probes, ranking, heat map.",
        discussion: """
            Collects z[l,h] (blocks.l.attn.hook_z, head h) at the last token of "Q: {question} \
            A: {answer}" for every TruthfulQA mc2 choice (cached on disk by model sha256, prompt \
            format and samples), trains one L2 logistic-regression probe per head (C = 1, Newton) \
            on a seeded 2-fold question split with 20% of each training fold's questions for \
            validation, and writes the ranking file (accuracies, top-K, mass-mean and probe \
            directions and σ from the training questions only — validation questions only rank \
            heads, unless --direction-data train+validation, honest_llama's choice — and splits) and an SVG heat map. Prints one \
            JSON record on stdout and a table on stderr. Every fold needs at least one training and one \
            validation question (heads are ranked on validation accuracy only): too few --questions for \
            the folds and --validation-fraction is an error before any activation is collected.
            """)

    @OptionGroup var options: ModelOptions
    @Option(help: "Seed of the fold and validation splits.") var seed: UInt64 = 0
    @Option(help: "Number of question folds.") var folds: Int = 2
    @Option(help: "Share of each training fold's questions used for validation.")
    var validationFraction: Double = 0.2
    @Option(name: .customLong("c"), help: "Inverse L2 strength of the probes (scikit-learn's C).")
    var c: Double = 1
    @Option(help: "K of the ranking's top-K list.") var topK: Int = 48
    @Option(help: "Questions of each fold the directions and σ use: train (default) or train+validation (honest_llama's get_com_directions).")
    var directionData = "train"
    @Option(help: "Use only the first N questions (0 = all 817; for quick runs).")
    var questions: Int = 0
    @Option(help: "Ranking file to write (default runs/iti/probe-seed{seed}.json).") var output: String?
    @Option(help: "Heat map SVG to write (default: the ranking path with .svg).") var heatmap: String?
    @Option(help: "Activation cache folder.") var cacheDirectory = "runs/cache"
    @Option(help: "Tokens per forward call during activation collection.")
    var tokensPerBatch: Int = 1024
    @Option(help: "Data folder (default $LOCUS_DATA or ../shared/data).") var data: String?

    func validate() throws {
        guard folds >= 2 else { throw ValidationError("--folds must be at least 2") }
        guard validationFraction > 0 && validationFraction < 1 else {
            throw ValidationError("--validation-fraction must be in (0, 1)")
        }
        guard c > 0 else { throw ValidationError("--c must be positive") }
        guard topK >= 1 else { throw ValidationError("--top-k must be at least 1") }
        guard DirectionData(rawValue: directionData) != nil else {
            throw ValidationError("--direction-data must be train or train+validation")
        }
    }

    func run() throws {
        let started = Date()
        let location = try dataLocation(data)
        var tqa = try TruthfulQA.load(from: location)
        if questions > 0 { tqa.questions = Array(tqa.questions.prefix(questions)) }
        let settings = ProbeSettings(
            seed: seed, foldCount: folds, validationFraction: validationFraction, c: c, topK: topK,
            directionData: DirectionData(rawValue: directionData)!)
        // Before loading and hashing the model and collecting (many minutes on a 7B model):
        // every fold needs training and validation questions, or the ranking would be 0/0.
        try HeadProber.checkSplits(questionCount: tqa.count, settings: settings)
        let lm = try options.load()
        let modelSHA = try SHA256.hex(ofCheckpoint: lm.url)
        let samples = ProbeSample.truthfulQA(tqa)
        let cacheURL = URL(fileURLWithPath: cacheDirectory)

        printError("probe: \(tqa.count) questions, \(samples.count) mc2 choices, model \(lm.url.lastPathComponent)")
        let collector = HeadActivationCollector(model: lm, tokensPerBatch: tokensPerBatch)
        let collectProgress = ProgressReporter(label: "activations", unit: "samples")
        let (activations, fromCache) = try collector.cachedOrCollect(
            samples, format: .iti, modelFile: lm.url.path, modelSHA256: modelSHA,
            cacheDirectory: cacheURL
        ) { done, total, tokens in
            collectProgress.update(done, total, extra: "\(tokens) tokens")
        }
        collectProgress.finish()
        if fromCache {
            printError("activations: cache hit \(activations.header.key) (collected earlier in "
                + String(format: "%.1f s", activations.header.seconds) + ")")
        }

        let probeStart = Date()
        let probeProgress = ProgressReporter(label: "probes", unit: "heads")
        let ranking = try HeadProber.run(
            activations, settings: settings, modelFile: lm.url.path, cacheDirectory: cacheURL.path
        ) { done, total in probeProgress.update(done, total) }
        probeProgress.finish()
        let probeSeconds = Date().timeIntervalSince(probeStart)

        let outputURL = URL(fileURLWithPath: output ?? "runs/iti/probe-seed\(seed).json")
        try ranking.write(to: outputURL)
        let heatmapURL = URL(
            fileURLWithPath: heatmap ?? outputURL.deletingPathExtension().appendingPathExtension("svg").path)
        let topCells = ranking.top.map { (row: $0.layer, column: $0.head) }
        let map = HeatMap(
            values: ranking.meanAccuracyGrid,
            title: "Probe accuracy per head: \(lm.url.deletingPathExtension().lastPathComponent), TruthfulQA (outlined: top \(ranking.top.count))",
            rowLabel: "layer", columnLabel: "head",
            valueLabel: "validation accuracy (mean of \(folds) folds)", highlighted: topCells)
        try AtomicFile.write(map.svg(), to: heatmapURL)

        let header = activations.header
        let collectionSeconds = header.seconds
        let best = ranking.heads.first!
        // The table.
        printError("")
        printError("rank  head      mean acc  " + ranking.folds.map { "fold \($0.fold)" }.joined(separator: "    "))
        for (i, h) in ranking.heads.prefix(min(topK, 16)).enumerated() {
            let perFold = ranking.folds.map {
                String(format: "%.3f", $0.probe(h.id, headCount: ranking.headCount).validationAccuracy)
            }
            printError(
                String(format: "%4d  ", i + 1) + h.id.description.padding(toLength: 8, withPad: " ", startingAt: 0)
                    + String(format: "  %.3f     ", h.accuracy)
                    + perFold.joined(separator: "     "))
        }
        let chance = Double(header.labels.filter { !$0 }.count) / Double(header.labels.count)
        printError(
            String(
                format: "best head %@: %.3f validation accuracy (majority class %.3f); collection %.1f s, %.0f tokens/s; probes %.1f s",
                best.id.description, best.accuracy, max(chance, 1 - chance), collectionSeconds,
                Double(header.tokenCount) / max(collectionSeconds, 1e-9), probeSeconds))
        printError("wrote \(outputURL.path) and \(heatmapURL.path)")

        printJSON(
            .object([
                ("command", .string("locus probe")),
                ("created", .string(ISO8601DateFormatter().string(from: Date()))),
                ("model", .object([("file", .string(lm.url.path)), ("sha256", .string(modelSHA))])),
                ("threads", .int(options.threads)),
                ("numerics", .object(options.numericsRecord)),
                ("configuration", .object([
                    ("seed", .int(Int(seed))), ("folds", .int(folds)),
                    ("validation_fraction", .double(validationFraction)), ("c", .double(c)),
                    ("top_k", .int(topK)), ("questions", .int(tqa.count)),
                    ("direction_data", .string(directionData)),
                    ("samples", .int(samples.count)),
                    ("prompt_format", .string(ProbePromptFormat.iti.template)),
                    ("site", .string("blocks.{l}.attn.hook_z")), ("position", .string("last token")),
                    ("tokens_per_batch", .int(tokensPerBatch)),
                ])),
                ("outputs", .object([
                    ("ranking", .string(outputURL.path)), ("heatmap", .string(heatmapURL.path)),
                    ("activation_cache", .string(
                        HeadActivations.valuesURL(directory: cacheURL, key: header.key).path)),
                ])),
                ("best", .object([
                    ("layer", .int(best.layer)), ("head", .int(best.head)),
                    ("mean_validation_accuracy", .double(best.accuracy)),
                    ("per_fold", .array(ranking.folds.map {
                        .double($0.probe(best.id, headCount: ranking.headCount).validationAccuracy)
                    })),
                ])),
                ("majority_class_rate", .double(max(chance, 1 - chance))),
                ("top", .array(ranking.top.map {
                    .object([("layer", .int($0.layer)), ("head", .int($0.head)), ("accuracy", .double($0.accuracy))])
                })),
                ("folds", .array(ranking.folds.map { fold in
                    .object([
                        ("fold", .int(fold.fold)),
                        ("train_questions", .int(fold.trainQuestions.count)),
                        ("validation_questions", .int(fold.validationQuestions.count)),
                        ("held_out_questions", .int(fold.heldOutQuestions.count)),
                        ("best", .object([
                            ("layer", .int(fold.heads[0].layer)), ("head", .int(fold.heads[0].head)),
                            ("accuracy", .double(fold.heads[0].accuracy)),
                        ])),
                    ])
                })),
                ("timing", .object([
                    ("activation_cache_hit", .bool(fromCache)),
                    ("collection_seconds", .double(collectionSeconds)),
                    ("collection_tokens", .int(header.tokenCount)),
                    ("collection_tokens_per_second", .double(Double(header.tokenCount) / max(collectionSeconds, 1e-9))),
                    ("probe_seconds", .double(probeSeconds)),
                    ("probes_trained", .int(ranking.layerCount * ranking.headCount * folds)),
                    ("wall_seconds", .double(Date().timeIntervalSince(started))),
                ])),
            ]))
    }
}
