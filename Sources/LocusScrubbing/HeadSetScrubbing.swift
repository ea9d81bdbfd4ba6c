import Foundation
import LocusInterventions
import LocusModel

/// Scrubbing of head-set hypotheses against one shared baseline (METHODS.md §9): "these heads,
/// computed on the real input on top of the baseline's components, explain the metric; every
/// other head is resampled from a random input".
///
///     recovered(S) = (L_base − L_S) / (L_base − L_model)
///
/// with L the mean metric over items (loss, or the negated log-prob margin). The unedited model's
/// and the baseline's scores are the same for every head set of a study, so they are computed
/// once (lazily) and reused: a sweep over N head sets costs N + 2 scrubbing passes, not 3N.
public final class HeadSetScrubbing {
    public let scrubber: CausalScrubber
    public let config: LlamaConfig
    /// The components every hypothesis keeps (e.g. embeddings and all MLPs on the input).
    public let baselineEntries: [[String: Any]]
    public let baseline: Hypothesis
    private var cachedModelScores: [Double]?
    private var cachedBaselineScores: [Double]?

    public init(
        model: LlamaModel, items: [ScrubItem], settings: ScrubSettings, baselineEntries: [[String: Any]]
    ) throws {
        scrubber = CausalScrubber(model: model, items: items, settings: settings)
        config = model.config
        self.baselineEntries = baselineEntries
        baseline =
            baselineEntries.isEmpty
            ? .empty : try Hypothesis.parse(["name": "baseline", "components": baselineEntries], config: config)
    }

    /// Per-item scores of the unedited model (computed on first use).
    public func modelScores(progress: ((Int, Int) -> Void)? = nil) throws -> [Double] {
        if let cachedModelScores { return cachedModelScores }
        let s = try scrubber.modelScores(progress: progress)
        cachedModelScores = s
        return s
    }

    /// Per-item scores of the baseline hypothesis (computed on first use).
    public func baselineScores(progress: ((Int, Int) -> Void)? = nil) throws -> [Double] {
        if let cachedBaselineScores { return cachedBaselineScores }
        let s = try scrubber.scores(baseline, progress: progress)
        cachedBaselineScores = s
        return s
    }

    /// The baseline's components plus `heads`, each computed on the input.
    public func hypothesis(named name: String, heads: [AttentionHead]) throws -> Hypothesis {
        let entries =
            heads.isEmpty ? baselineEntries : baselineEntries + [["component": heads.map(\.description), "feature": "input"]]
        return try Hypothesis.parse(["name": name, "components": entries], config: config)
    }

    /// Scrubs `hypothesis` and reduces it against the model and the baseline; the bootstrap is
    /// paired over items and seeded with the scrub seed + 1.
    public func evaluate(
        _ hypothesis: Hypothesis, bootstrapResamples: Int, progress: ((Int, Int) -> Void)? = nil
    ) throws -> HeadSetScrubResult {
        let model = try modelScores(), base = try baselineScores()
        let scrubbed = try scrubber.scores(hypothesis, progress: progress)
        let ci = Bootstrap.interval(
            model: model, scrubbed: scrubbed, random: base, resamples: bootstrapResamples,
            seed: bootstrapSeed)
        return HeadSetScrubResult(
            name: hypothesis.name, componentCount: hypothesis.important.count,
            modelMetric: Bootstrap.mean(model), baselineMetric: Bootstrap.mean(base),
            scrubbedMetric: Bootstrap.mean(scrubbed),
            lossRecovered: Bootstrap.recovered(model: model, scrubbed: scrubbed, random: base),
            ci95: ci)
    }

    public var bootstrapSeed: UInt64 { scrubber.settings.seed &+ 1 }

    /// What the metric is, for labels.
    public var metricName: String {
        scrubber.items.allSatisfy(\.isLoss) ? "mean loss (nats)" : "log-prob margin true − false"
    }
}

/// One scrubbed hypothesis, reduced.
public struct HeadSetScrubResult: Sendable {
    public var name: String
    public var componentCount: Int
    public var modelMetric: Double
    public var baselineMetric: Double
    public var scrubbedMetric: Double
    public var lossRecovered: Double
    public var ci95: (low: Double, high: Double)
}
