import LocusCore
import ArgumentParser
import Foundation
import LocusExperiments
import LocusData
import LocusInterventions
import LocusModel
import LocusProbing
import LocusSteering

struct Steer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train per-head steering parameters with a preference loss (IPO or DPO).",
        discussion: """
            Writes OUTPUT (safetensors: the steering parameters), OUTPUT.json (everything needed \
            to reproduce the run: model hash, heads, loss, τ/β, learning rate, seed, data split, \
            loss curves) and, after each epoch, OUTPUT.checkpoint.json, from which an interrupted \
            run resumes when started again with the same options.
            """)

    @OptionGroup var options: ModelOptions
    @Option(help: "Heads: L12H3,L5H0 | all | random:K:SEED | top:K:RANKING.json (not with --parameterization residual)")
    var heads: String?
    @Option(help: "The block whose output (resid_post) a --parameterization residual vector is added to.")
    var layer: Int?
    @Option(help: "truthfulqa, or a preference file (.csv with a header or .jsonl).")
    var data = "truthfulqa"
    @OptionGroup var preferenceData: PreferenceDataOptions
    @Option(help: "A separate preference file to validate on (same columns and template): all of --data is then trained on (after --max-train-pairs), instead of its 60/20/20 group split.")
    var validationData: String?
    @Option(help: "ipo or dpo.") var loss = "ipo"
    @Option(help: "IPO τ (target margin 1/(2τ)).") var tau = 0.1
    @Option(help: "DPO β.") var beta = 0.1
    @Flag(help: "Length-normalise answer log-probs (mean instead of sum).") var lengthNormalize = false
    @Option(help: "head-vectors, rank-one (per head, at z) or residual (one vector added to resid_post of --layer, as BiPO/CAA).")
    var parameterization = "head-vectors"
    @Option(help: "Where the edit fires, in training and evaluation alike: after-prefix (question and answer tokens, never the instruction + primer), all, prompt or answer.")
    var positions = "after-prefix"
    @Option(help: "TruthfulQA pairs' prompt: truthfulqa (the MC evaluation's instruction + QA primer + \"Q: …\\nA:\") or bare (\"Q: …\\nA:\" alone, the format before issue 11).")
    var prompt = "truthfulqa"
    @Option(help: "Learning rate (default: 1e-4 all heads, 5e-4 a set, 2e-3 one head).")
    var lr: Double?
    @Option(help: "AdamW decoupled weight decay.") var weightDecay = 0.0
    @Option(help: "Epochs.") var epochs = 2
    @Option(help: "Preference pairs per step.") var batchSize = 4
    @Option(help: "Clip the gradient's global L2 norm to this (0 = off).") var clip = 1.0
    @Option(help: "Seed of parameter init and shuffling.") var seed: UInt64 = 0
    @Option(help: "Seed of the question-level train/validation/test split.") var splitSeed: UInt64 = 0
    @Option(help: "Use at most this many training pairs (seeded sample; 0 = all).")
    var maxTrainPairs = 0
    @Option(help: "Use at most this many validation pairs (seeded sample; 0 = all).")
    var maxValidationPairs = 0
    @Option(help: "Output steering file (.safetensors).") var output = "runs/steering.safetensors"

    func validate() throws {
        guard ["ipo", "dpo"].contains(loss) else { throw ValidationError("--loss must be ipo or dpo") }
        guard let kind = SteeringParameterization(rawValue: parameterization) else {
            throw ValidationError("--parameterization must be head-vectors, rank-one or residual")
        }
        if kind == .residual {
            guard let layer, layer >= 0 else { throw ValidationError("--parameterization residual needs --layer L (≥ 0)") }
            guard heads == nil else { throw ValidationError("--heads does not apply to --parameterization residual (use --layer)") }
        } else {
            // A missing --heads is reported by run(), so that a mistyped option is named first.
            guard layer == nil else { throw ValidationError("--layer applies to --parameterization residual only") }
        }
        if data == "truthfulqa" && (preferenceData.promptTemplate != nil || preferenceData.skipInvalidRows || validationData != nil) {
            throw ValidationError("--prompt-template, --skip-invalid-rows and --validation-data apply to a preference file (--data F); TruthfulQA's prompt is --prompt")
        }
        guard SteeringPositions(parameter: positions) != nil else {
            throw ValidationError("--positions must be after-prefix, all, prompt or answer")
        }
        guard SteeringPromptTemplate(parameter: prompt) != nil else {
            throw ValidationError("--prompt must be truthfulqa or bare")
        }
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        guard tau > 0, tau.isFinite else { throw ValidationError("--tau must be positive and finite, got \(tau)") }
        guard beta > 0, beta.isFinite else { throw ValidationError("--beta must be positive and finite, got \(beta)") }
        if let lr { guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be positive and finite, got \(lr)") } }
        guard weightDecay >= 0, weightDecay.isFinite else {
            throw ValidationError("--weight-decay must be ≥ 0 and finite, got \(weightDecay)")
        }
        guard clip >= 0, clip.isFinite else { throw ValidationError("--clip must be ≥ 0 and finite (0 = off), got \(clip)") }
        guard maxTrainPairs >= 0 else { throw ValidationError("--max-train-pairs must be ≥ 0 (0 = all)") }
        guard maxValidationPairs >= 0 else { throw ValidationError("--max-validation-pairs must be ≥ 0 (0 = all)") }
        if let heads { _ = try HeadSetSelection(parsing: heads) }  // syntax here; the model's shape is checked in run()
    }

    func run() throws {
        guard parameterization == SteeringParameterization.residual.rawValue || heads != nil else {
            throw RunFailure("--heads is required for --parameterization \(parameterization) (or use --parameterization residual --layer L)")
        }
        let lm = try options.load()
        // The model's fingerprint first (a Hugging Face directory hashes config, tokenizer and
        // safetensors files), so nothing can fail after training and leave a file without record.
        let modelSHA = try SHA256.hex(ofCheckpoint: lm.url)
        let kind = SteeringParameterization(rawValue: parameterization)!
        let headText = heads ?? "none"
        let template =
            data == "truthfulqa"
            ? SteeringPromptTemplate(parameter: prompt)! : try preferenceData.requestedTemplate(model: lm.url) ?? .bare
        let split = try loadPairs(template: template)
        var chosenHeads: [AttentionHead] = []
        if let layer, layer >= lm.config.layerCount {
            throw RunFailure("--layer \(layer): the model has \(lm.config.layerCount) layers (0…\(lm.config.layerCount - 1))")
        }
        let selection = try heads.map(HeadSetSelection.init(parsing:))
        if let selection, let heads {
            do { chosenHeads = try selection.resolve(in: lm.config) } catch let e as HeadSelectionError {
                throw RunFailure("--heads \(heads): \(e)")
            }
        }
        // top:K:FILE: the first K heads of FILE's probes redone on the training questions only
        // (issue 11: the file's own ranking saw every question's labels).
        var headRanking = "as given"
        if case .top(let k, let file)? = selection, data == "truthfulqa" {
            let subset = QuestionSubset(
                label: "steering training questions (60/20/20 question split, seed \(splitSeed))",
                ids: split.trainGroups)
            let ranking = try ProbeRanking.load(URL(fileURLWithPath: file)).restricted(to: subset)
            chosenHeads = ranking.top(k).map { AttentionHead(layer: $0.layer, head: $0.head) }.sorted()
            headRanking = "top \(k) of \(file)'s probes redone on the \(subset.ids.count) \(subset.label)"
            printError("steer: \(headRanking): \(chosenHeads.map(\.description).joined(separator: " "))")
        }
        // TruthfulQA pairs come rendered; a preference file's are rendered here, and with a
        // shared prefix (chat/custom) the prefix starts the input and the rest continues it.
        let sharedPrefix: [Int], train: [TokenizedPair], validation: [TokenizedPair]
        if data == "truthfulqa" {
            sharedPrefix = lm.tokenizer.encode(template.sharedPrefix)
            let tokenize = { (pairs: [PreferencePair]) in pairs.map { TokenizedPair($0, tokenizer: lm.tokenizer) } }
            (train, validation) = (tokenize(split.train), tokenize(split.validation))
        } else {
            (sharedPrefix, train) = template.tokenize(template.render(split.train), tokenizer: lm.tokenizer)
            validation = template.tokenize(template.render(split.validation), tokenizer: lm.tokenizer).pairs
            printError("steer: prompt template \(template.rawValue): \(template.description)")
        }
        guard !train.isEmpty else { throw RunFailure("\(data): the training split has no preference pairs") }
        guard !validation.isEmpty else {
            throw RunFailure(
                "\(data): the validation split is empty (\(split.validationGroups.count) groups of "
                    + "\(split.trainGroups.count + split.validationGroups.count + split.testGroups.count)): "
                    + "give more groups (a 60/20/20 split needs at least 3)")
        }
        // The data as trained on (pairs after split and sampling, tokenized): a resumed run must
        // see exactly these.
        let dataSHA = SHA256.hex(try Self.encoder.encode([train, validation]))
        let rate = lr ?? SteeringConfiguration.defaultLearningRate(
            headCount: kind == .residual ? 1 : chosenHeads.count, totalHeads: lm.config.layerCount * lm.config.headCount)
        let configuration = SteeringConfiguration(
            headSelection: kind == .residual ? "resid_post:\(layer!)" : headText, heads: chosenHeads, promptTemplate: template,
            parameterization: kind,
            positions: SteeringPositions(parameter: positions)!,
            objective: loss == "ipo" ? .ipo(tau: tau) : .dpo(beta: beta),
            lengthNormalized: lengthNormalize, learningRate: rate, weightDecay: weightDecay,
            epochs: epochs, batchSize: batchSize, gradientClipNorm: clip > 0 ? clip : nil, seed: seed,
            residualLayer: kind == .residual ? layer : nil)
        let outputURL = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(
            at: outputURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        let checkpointURL = outputURL.appendingPathExtension("checkpoint.json")
        let recordURL = outputURL.deletingPathExtension().appendingPathExtension("json")

        let trainer = SteeringTrainer(model: lm.model, configuration: configuration, sharedPrefix: sharedPrefix)
        var state: SteeringState
        if FileManager.default.fileExists(atPath: checkpointURL.path) {
            let saved = try SteeringCheckpoint.load(checkpointURL)
            try saved.checkResumes(
                modelSHA256: modelSHA, dataSHA256: dataSHA, configuration: configuration,
                trainPairs: train.count, file: checkpointURL.path)
            state = saved.state
            printError("resuming from \(checkpointURL.path) after epoch \(saved.state.completedEpochs)")
        } else {
            let target = kind == .residual ? "resid_post of block \(layer!)" : "\(chosenHeads.count) heads"
            printError(
                "steer: \(target), \(train.count) train / \(validation.count) "
                    + "validation pairs, \(configuration.objective), lr \(rate); computing π₀ log-probs…")
            let progress = PassProgress(label: "π₀ log-probs (train + validation) and initial validation")
            state = try trainer.initialState(train: train, validation: validation, progress: progress.update)
        }
        let started = Date()
        var status = "completed"
        let stepLine = ProgressReporter(label: "steer")
        var validationProgress: PassProgress? = nil
        do {
            state = try trainer.train(
                from: state, train: train, validation: validation,
                onStep: { p in
                    let line = String(
                        format: "epoch %d/%d step %d/%d  loss %.4f  margin %+.3f  lr %.2e  ETA %@",
                        p.epoch + 1, configuration.epochs, p.step, p.stepsPerEpoch, p.loss, p.margin,
                        p.learningRate, formatDuration(p.etaSeconds))
                    stepLine.show(line, final: p.step == p.stepsPerEpoch)
                },
                onValidation: { done, total in
                    if validationProgress == nil {
                        stepLine.finish()
                        validationProgress = PassProgress(label: "validation")
                    }
                    validationProgress!.update(done, total)
                    if done == total { validationProgress = nil }
                },
                onEpoch: { s in
                    stepLine.finish()
                    if let last = s.curve.last {
                        printError(
                            String(
                                format: "epoch %d: train loss %.4f margin %+.3f | validation loss %.4f margin %+.3f accuracy %.3f",
                                last.epoch, last.trainLoss, last.trainMargin, last.validation.loss,
                                last.validation.margin, last.validation.accuracy))
                    }
                    let checkpoint = SteeringCheckpoint(modelSHA256: modelSHA, dataSHA256: dataSHA, state: s)
                    try AtomicFile.write(try Self.encoder.encode(checkpoint), to: checkpointURL)
                })
        } catch let error as SteeringError {
            printError("\n\(error)")
            guard let good = trainer.lastFiniteParameters else {
                throw RunFailure("\(error); no step finished with finite values, so nothing was saved")
            }
            status = "stopped: \(error)"
            state.parameters = good
        }
        // Never save parameters that are not finite or overflow the forward pass (issue 10: a
        // huge learning rate can give finite θ whose logits are NaN).
        let probe = Array(validation.prefix(configuration.batchSize))
        guard state.parameters.values.allSatisfy({ abs($0) <= SteeringTrainer.maximumMagnitude }),
            try trainer.givesFiniteLogProbabilities(state.parameters, on: probe)
        else {
            throw RunFailure(
                "training diverged: the parameters give non-finite log-probs (lower --lr); nothing was saved")
        }
        let steering = SteeringFile(
            parameters: state.parameters, positions: configuration.positions, promptTemplate: template,
            objective: configuration.objective, lengthNormalized: configuration.lengthNormalized,
            dataSHA256: split.dataFileSHA256)
        try steering.write(to: outputURL)
        guard try SteeringFile.load(outputURL, for: lm.config) == steering else {
            throw RunFailure("\(outputURL.path): the written steering file does not read back identically")
        }
        let record = SteeringRecord(
            tool: "locus steer", status: status, created: ISO8601DateFormatter().string(from: Date()),
            model: lm.url.path, modelSHA256: modelSHA, dataSHA256: dataSHA,
            data: data, dataFileSHA256: split.dataFileSHA256, skippedRows: split.skipped,
            validationData: validationData, validationDataFileSHA256: split.validationFileSHA256,
            promptFormat: template.description,
            promptTemplate: template.rawValue, promptTemplatePattern: template.pattern,
            sharedPrefixTokens: trainer.sharedPrefix.count,
            positionsRule: configuration.positions.description, headRanking: headRanking,
            splitSeed: splitSeed, trainGroups: split.trainGroups, validationGroups: split.validationGroups,
            testGroups: split.testGroups, trainPairs: train.count, validationPairs: validation.count,
            configuration: configuration, threads: options.threads,
            initialValidation: state.initialValidation, curve: state.curve,
            trainingSeconds: Date().timeIntervalSince(started), steeringFile: outputURL.path)
        try AtomicFile.write(try Self.encoder.encode(record), to: recordURL)
        print("wrote \(outputURL.path) and \(recordURL.path)")
        if let last = state.curve.last {
            print(
                String(
                    format: "validation margin %+.4f → %+.4f, preference accuracy %.3f → %.3f",
                    state.initialValidation.margin, last.validation.margin,
                    state.initialValidation.accuracy, last.validation.accuracy))
        }
        if status != "completed" { throw ExitCode(2) }
    }

    /// The pairs trained and validated on, with where they came from.
    struct Split {
        var train: [PreferencePair]
        var validation: [PreferencePair]
        var trainGroups: [Int]
        var validationGroups: [Int]
        var testGroups: [Int]
        /// sha256 of the data file's bytes (nil for TruthfulQA, whose files DATA.md pins).
        var dataFileSHA256: String?
        var validationFileSHA256: String?
        /// Malformed rows skipped (--skip-invalid-rows), in --data then --validation-data.
        var skipped: [PreferenceFile.SkippedRow] = []
    }

    /// Question-level split 60 / 20 / 20 (train / validation / test) for TruthfulQA; for a
    /// preference file the same fractions over its groups, or, with --validation-data, all of
    /// --data for training and the other file for validation (the test part is then empty).
    func loadPairs(template: SteeringPromptTemplate) throws -> Split {
        let all: [PreferencePair]
        var groups: [Int]
        var dataSHA: String? = nil
        var skipped: [PreferenceFile.SkippedRow] = []
        if data == "truthfulqa" {
            let location = try DataLocation.resolve(searchFrom: [
                URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                Workdir.executable.deletingLastPathComponent(),
            ])
            let tqa = try TruthfulQA.load(from: location)
            groups = Array(0..<tqa.count)
            all = template.pairs(tqa, questionIDs: groups)
        } else {
            let contents = try preferenceData.load(data, label: "steer")
            all = contents.pairs
            dataSHA = contents.sha256
            skipped = contents.skipped
            groups = Array(Set(all.map(\.group))).sorted()
        }
        func sample(_ chosen: [PreferencePair], limit: Int, salt: UInt64) -> [PreferencePair] {
            guard limit > 0, chosen.count > limit else { return chosen }
            let order = QuestionSplit.permutation(count: chosen.count, seed: seed &+ salt)
            return order.prefix(limit).sorted().map { chosen[$0] }
        }
        if let validationData {
            let contents = try preferenceData.load(validationData, label: "steer --validation-data")
            let validationGroups = Array(Set(contents.pairs.map(\.group))).sorted()
            return Split(
                train: sample(all, limit: maxTrainPairs, salt: 101),
                validation: sample(contents.pairs, limit: maxValidationPairs, salt: 202),
                trainGroups: groups, validationGroups: validationGroups, testGroups: [],
                dataFileSHA256: dataSHA, validationFileSHA256: contents.sha256, skipped: skipped + contents.skipped)
        }
        let parts = QuestionSplit.partition(groups, fractions: [0.6, 0.2, 0.2], seed: splitSeed)
        func pairs(_ ids: [Int], limit: Int, salt: UInt64) -> [PreferencePair] {
            let set = Set(ids)
            return sample(all.filter { set.contains($0.group) }, limit: limit, salt: salt)
        }
        return Split(
            train: pairs(parts[0], limit: maxTrainPairs, salt: 101), validation: pairs(parts[1], limit: maxValidationPairs, salt: 202),
            trainGroups: parts[0], validationGroups: parts[1], testGroups: parts[2], dataFileSHA256: dataSHA,
            skipped: skipped)
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }()
}

/// The JSON record written beside a steering file.
struct SteeringRecord: Codable {
    var tool: String
    var status: String
    var created: String
    var model: String
    var modelSHA256: String
    /// sha256 of the tokenized train and validation pairs (data, split and sampling).
    var dataSHA256: String
    var data: String
    /// sha256 of the --data file's bytes (nil for TruthfulQA).
    var dataFileSHA256: String?
    /// Rows of the data files skipped as malformed (--skip-invalid-rows).
    var skippedRows: [PreferenceFile.SkippedRow]
    var validationData: String?
    var validationDataFileSHA256: String?
    var promptFormat: String
    var promptTemplate: String
    /// The pattern of a chat or custom template (`{prompt}` once).
    var promptTemplatePattern: String?
    var sharedPrefixTokens: Int
    var positionsRule: String
    var headRanking: String
    var splitSeed: UInt64
    var trainGroups: [Int]
    var validationGroups: [Int]
    var testGroups: [Int]
    var trainPairs: Int
    var validationPairs: Int
    var configuration: SteeringConfiguration
    var threads: Int
    var initialValidation: PreferenceMetrics
    var curve: [SteeringState.EpochRecord]
    var trainingSeconds: Double
    var steeringFile: String
}

func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    let s = Int(seconds.rounded())
    return s >= 3600 ? "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" : "\(s / 60)m\(String(format: "%02d", s % 60))s"
}

/// What `locus steer` writes after each epoch: the training state with the fingerprints of the
/// model and data it belongs to, so a rerun resumes only the same run.
struct SteeringCheckpoint: Codable {
    var modelSHA256: String
    var dataSHA256: String
    var state: SteeringState

    static func load(_ url: URL) throws -> SteeringCheckpoint {
        do {
            return try Steer.decoder.decode(SteeringCheckpoint.self, from: Data(contentsOf: url))
        } catch {
            throw RunFailure(
                "\(url.path): cannot read this checkpoint (\(error.localizedDescription)); delete it to "
                    + "start afresh, or choose another --output")
        }
    }

    /// Throws unless this checkpoint is of the run being started: same model, data (pairs after
    /// split and sampling), heads and hyper-parameters. The error names what differs.
    func checkResumes(
        modelSHA256 model: String, dataSHA256 data: String, configuration: SteeringConfiguration,
        trainPairs: Int, file: String
    ) throws {
        var differences: [String] = []
        if modelSHA256 != model { differences.append("model (sha256 \(modelSHA256.prefix(12))… vs \(model.prefix(12))…)") }
        if dataSHA256 != data || state.trainReference.count != trainPairs {
            differences.append("data (the preference pairs after split and sampling)")
        }
        let saved = state.configuration
        if saved.heads != configuration.heads || saved.headSelection != configuration.headSelection {
            differences.append("heads (\(saved.headSelection) vs \(configuration.headSelection))")
        }
        if saved != configuration && saved.heads == configuration.heads && saved.headSelection == configuration.headSelection {
            differences.append("hyper-parameters (loss, τ/β, lr, epochs, batch size, clip, weight decay, seed, positions or parameterization)")
        }
        guard differences.isEmpty else {
            throw RunFailure(
                "\(file) is a checkpoint of another run: its " + differences.joined(separator: ", ")
                    + " differ from this command's. Delete it to start afresh, or choose another --output")
        }
    }
}
