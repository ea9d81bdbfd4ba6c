import LocusCore
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
public final class ScrubExecutor: RunExecutor {
    public let lm: LanguageModel
    /// Data folder (nil: `dataLocation(nil)`).
    public let data: String?
    private var studies: [String: HeadSetScrubbing] = [:]

    public init(model: LanguageModel, data: String?) {
        lm = model
        self.data = data
    }

    public func execute(_ run: RunSpec) throws -> [String: JSONValue] {
        guard let set = run.headSet else { throw ScrubError("scrub runs need a head set") }
        let heads = try set.heads.map { name -> AttentionHead in
            guard let h = AttentionHead(name) else { throw ScrubError("bad head name '\(name)'") }
            return h
        }
        let study = try self.study(for: run)
        let start = Date()
        let bar = ProgressReporter(label: "scrub \(set.name)#\(set.index)", unit: "runs")
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
        let options = ScrubTask(run: run, data: data)
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
