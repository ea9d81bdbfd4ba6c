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
        let task = run.string("task") ?? "truthfulqa"
        let count = run.number("items").map(Int.init) ?? 24
        let dataSeed = UInt64(run.number("dataSeed") ?? 1)
        let length = run.number("length").map(Int.init) ?? 16
        let baseline = run.string("baseline") ?? "embedAndMLPs"
        let key = "\(task)|\(count)|\(dataSeed)|\(length)|\(baseline)|\(settings)"
        if let s = studies[key] { return s }

        var options = try ScrubTaskOptions.parse([])
        options.task = task
        options.count = count
        options.dataSeed = dataSeed
        options.length = length
        options.data = data
        let items = try options.items(lm)
        let entries: [[String: Any]] =
            baseline == "none" ? [] : [["component": "embed", "feature": "input"], ["mlps": "all", "feature": "input"]]
        let study = try HeadSetScrubbing(model: lm.model, items: items, settings: settings, baselineEntries: entries)
        printError("scrub study: \(task), \(items.count) items, baseline \(baseline), seed \(settings.seed)")
        studies[key] = study
        return study
    }
}
