import Foundation
import LocusData
import LocusInterventions
import LocusModel
import LocusRecipes
import LocusScrubbing

/// `locus run` executor of the `scrub` method (MethodSchema.scrub): causal scrubbing of the run's
/// head set on TruthfulQA MC margins or induction loss, reduced to loss recovered with a paired
/// bootstrap CI. Runs of one study (same task, settings and seed) share the model's and the
/// baseline's scores, computed once per process.
final class ScrubExecutor: RunExecutor {
    let lm: LanguageModel
    let data: String?
    private var studies: [String: HeadSetScrubbing] = [:]

    init(model: LanguageModel, data: String?) {
        lm = model
        self.data = data
    }

    func execute(_ run: RunSpec) throws -> [String: JSONValue] {
        guard let set = run.headSet else { throw ScrubError("scrub runs need a head set") }
        let heads = try set.heads.map { name -> AttentionHead in
            guard let h = AttentionHead(name) else { throw ScrubError("bad head name '\(name)'") }
            return h
        }
        let study = try self.study(for: run)
        let start = Date()
        let bar = ETAProgress(label: "scrub \(set.name)#\(set.index)", unit: "runs")
        let result = try study.evaluate(
            try study.hypothesis(named: set.selection, heads: heads),
            bootstrapResamples: run.number("bootstrap").map(Int.init) ?? 1000,
            progress: { bar.update($0, $1) })
        bar.finish()
        return [
            "lossRecovered": .number(result.lossRecovered),
            "lossRecoveredCI95": .array([.number(result.ci95.low), .number(result.ci95.high)]),
            "scrubbedMetric": .number(result.scrubbedMetric),
            "modelMetric": .number(result.modelMetric),
            "baselineMetric": .number(result.baselineMetric),
            "baseline": .string(study.baselineKind.rawValue),
            "baselineLabel": .string(study.baselineKind.label),
            "metric": .string(study.metricName),
            "items": .number(Double(study.scrubber.items.count)),
            "bootstrapSeed": .number(Double(study.bootstrapSeed)),
            "scrubSeconds": .number(Date().timeIntervalSince(start)),
        ]
    }

    /// The study of a run's task and settings, built on first use; its key is everything but the
    /// head set.
    private func study(for run: RunSpec) throws -> HeadSetScrubbing {
        var settings = ScrubSettings()
        settings.depth = run.number("depth").map(Int.init) ?? 1
        settings.randomSources = run.number("randomSources").map(Int.init) ?? 1
        settings.alignment = PositionAlignment(rawValue: run.string("alignment") ?? "start") ?? .start
        settings.draws = run.number("draws").map(Int.init) ?? 1
        settings.seed = UInt64(run.seed)
        let options = try ScrubTaskOptions(run: run, data: data)
        let (keeps, baseline) = ScrubBaseline.sweepSetting(baseline: run.string("baseline"), keep: run.string("keep"))
        let keep = keeps ? "embedAndMLPs" : "none"
        let key = "\(options.key)|\(keep)|\(baseline.rawValue)|\(settings)"
        if let s = studies[key] { return s }

        let items = try options.items(lm)
        let entries = keeps ? ScrubBaseline.embeddingsAndMLPs : []
        let study = try HeadSetScrubbing(
            model: lm.model, items: items, settings: settings, keptEntries: entries, baseline: baseline)
        printError("scrub study: \(options.task), \(items.count) items, keep \(keep), baseline \(baseline.label), seed \(settings.seed)")
        studies[key] = study
        return study
    }
}

/// `locus run` executor of the `ablate` method (MethodSchema.ablate): the run's whole head set
/// ablated at once (zero, mean over the task's inputs, or resample from another item, seeded by
/// the run's seed), on the same tasks as `scrub`. Effect = metric change toward worse (loss up,
/// margin down), with a bootstrap CI over items of the paired per-item change.
final class AblateExecutor: RunExecutor {
    let lm: LanguageModel
    let data: String?
    private var cleanScores: [String: (items: [ScrubItem], scores: [Double])] = [:]
    private var modelSHA: String?

    init(model: LanguageModel, data: String?) {
        lm = model
        self.data = data
    }

    func execute(_ run: RunSpec) throws -> [String: JSONValue] {
        guard let set = run.headSet else { throw ScrubError("ablate runs need a head set") }
        guard let kind = AblationKind(rawValue: run.string("ablation") ?? "") else {
            throw ScrubError("ablation must be zero, mean or resample")
        }
        let config = lm.config
        let slices = try set.heads.map { name -> ComponentSlice in
            guard let h = AttentionHead(name) else { throw ScrubError("bad head name '\(name)'") }
            return .head(h, config: config)
        }
        let options = try ScrubTaskOptions(run: run, data: data)
        let key = options.key
        var scan: AblationScan
        let clean: [Double]
        if let cached = cleanScores[key] {
            scan = AblationScan(model: lm.model, items: cached.items)
            clean = cached.scores
        } else {
            scan = AblationScan(model: lm.model, items: try options.items(lm))
            clean = try scan.scores(groups: [[]], kind: .zero)[0]
            cleanScores[key] = (scan.items, clean)
        }
        scan.seed = UInt64(run.seed)
        var means: [ActivationSite: [Float]] = [:]
        if kind == .mean {
            let sha = try modelSHA ?? SHA256.hex(ofCheckpoint: lm.url)
            modelSHA = sha
            for site in Set(slices.map(\.site)) {
                means[site] = try MeanActivations.cached(
                    model: lm.model, modelSHA256: sha, site: site, inputs: scan.items.flatMap(\.sequences),
                    directory: URL(fileURLWithPath: "runs/cache/means")).mean
            }
        }
        let bar = ETAProgress(label: "ablate \(set.name)#\(set.index) (\(kind.rawValue))", unit: "runs")
        let ablated = try scan.scores(groups: [slices], kind: kind, means: means, progress: { bar.update($0, $1) })[0]
        bar.finish()
        let sign: Double = scan.items.allSatisfy(\.isLoss) ? 1 : -1
        let changes = zip(ablated, clean).map { sign * ($0 - $1) }
        let ci = Bootstrap.meanInterval(changes, seed: UInt64(run.seed) &+ 1)
        return [
            "effect": .number(Bootstrap.mean(changes)),
            "effectCI95": .array([.number(ci.low), .number(ci.high)]),
            "cleanMetric": .number(Bootstrap.mean(clean)),
            "ablatedMetric": .number(Bootstrap.mean(ablated)),
            "metric": .string(scan.items.allSatisfy(\.isLoss) ? "mean loss (nats)" : "log-prob margin true − false"),
            "items": .number(Double(scan.items.count)),
        ]
    }
}

extension ScrubTaskOptions {
    /// The task of a `scrub` or `ablate` run (MethodSchema's `task`, `items`, `dataSeed`, `length`).
    init(run: RunSpec, data: String?) throws {
        self = try ScrubTaskOptions.parse([])
        task = run.string("task") ?? "truthfulqa"
        count = run.number("items").map(Int.init) ?? 24
        dataSeed = UInt64(run.number("dataSeed") ?? 1)
        length = run.number("length").map(Int.init) ?? 16
        self.data = data
    }

    /// Identifies the items a task produces (for caching scores across runs).
    var key: String { "\(task)|\(count)|\(dataSeed)|\(length)" }
}
