import LocusCore
import Foundation
import LocusInterventions
import LocusModel

/// The zero of "loss recovered": what a head-set study's scrubbed metric is normalised against.
///
/// Redwood's causal scrubbing defines loss recovered = (L_random − L_scrubbed)/(L_random −
/// L_model) with L_random the loss when *every* component reads a random input (Chan et al.
/// 2022, "Causal Scrubbing", the appendix's "percentage of loss recovered"). Before issue 11 the
/// sweeps normalised against the kept components (embeddings and MLPs on the input, every head
/// resampled) instead, which measures only what the heads add on top of them; that is kept as an
/// explicit, labelled option.
public enum ScrubBaseline: String, Codable, Sendable, CaseIterable {
    /// L_random: the empty hypothesis, every component resampled (Redwood; the default).
    case random
    /// The kept components on the input, every head resampled ("heads-only" loss recovered).
    case headsOnly

    /// A label for records and reports.
    public var label: String {
        switch self {
        case .random: "L_random (every component resampled; Redwood's definition)"
        case .headsOnly: "heads-only (kept components on the input, every head resampled)"
        }
    }
}

extension ScrubBaseline {
    /// The `scrub` sweep method's `baseline` and `keep` parameters (MethodSchema.scrub): whether
    /// every hypothesis keeps the embeddings and all MLPs on the input, and the baseline.
    /// Defaults: keep them, normalise against L_random. The legacy `baseline` values keep their
    /// pre-issue-11 meaning: `embedAndMLPs` = keep them and normalise against them (heads-only);
    /// `none` = keep nothing (so the baseline is every component resampled either way).
    public static func sweepSetting(baseline: String?, keep: String?) -> (keepsEmbeddingsAndMLPs: Bool, baseline: ScrubBaseline) {
        let keeps = (keep ?? "embedAndMLPs") != "none"
        switch baseline ?? "random" {
        case "embedAndMLPs": return (true, .headsOnly)
        case "none": return (false, .random)
        case "headsOnly": return (keeps, .headsOnly)
        default: return (keeps, .random)
        }
    }

    /// The hypothesis entries of the embeddings and every MLP on the input.
    public static var embeddingsAndMLPs: [JSONValue] {
        [["component": "embed", "feature": "input"], ["mlps": "all", "feature": "input"]]
    }
}

/// Scrubbing of head-set hypotheses against one shared baseline (METHODS.md §9): "these heads,
/// computed on the real input on top of the kept components, explain the metric; every other
/// head is resampled from a random input".
///
///     recovered(S) = (L_base − L_S) / (L_base − L_model)
///
/// with L the mean metric over items (loss, or the negated log-prob margin) and L_base the
/// `baseline`'s (`ScrubBaseline`: L_random by default). The unedited model's and the baseline's
/// scores are the same for every head set of a study, so they are computed once (lazily) and
/// reused: a sweep over N head sets costs N + 2 scrubbing passes, not 3N.
public final class HeadSetScrubbing {
    public let scrubber: CausalScrubber
    public let config: ModelConfig
    /// The components every hypothesis keeps on the input besides its heads (e.g. embeddings and
    /// all MLPs).
    public let keptEntries: [JSONValue]
    /// Which baseline `baseline` is.
    public let baselineKind: ScrubBaseline
    /// The hypothesis whose scores are L_base: empty (L_random) or the kept components.
    public let baseline: Hypothesis
    private var cachedModelScores: [Double]?
    private var cachedBaselineScores: [Double]?

    public init(
        model: DecoderModel, items: [ScrubItem], settings: ScrubSettings, keptEntries: [JSONValue],
        baseline: ScrubBaseline = .random
    ) throws {
        scrubber = CausalScrubber(model: model, items: items, settings: settings)
        config = model.config
        self.keptEntries = keptEntries
        baselineKind = baseline
        switch baseline {
        case .random:
            self.baseline = .empty
        case .headsOnly:
            self.baseline =
                keptEntries.isEmpty
                ? .empty : try Hypothesis.parse(["name": "baseline", "components": .array(keptEntries)], config: config)
        }
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

    /// The kept components plus `heads`, each computed on the input.
    public func hypothesis(named name: String, heads: [AttentionHead]) throws -> Hypothesis {
        let entries =
            heads.isEmpty
            ? keptEntries
            : keptEntries + [["component": .array(heads.map { .string($0.description) }), "feature": "input"]]
        return try Hypothesis.parse(["name": .string(name), "components": .array(entries)], config: config)
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
