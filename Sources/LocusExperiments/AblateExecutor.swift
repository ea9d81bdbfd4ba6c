import LocusCore
import Foundation
import LocusData
import LocusInterventions
import LocusModel
import LocusRecipes
import LocusScrubbing

/// `locus run` executor of the `ablate` method (MethodSchema.ablate): the run's whole head set
/// ablated at once (zero, mean over the task's inputs, or resample from another item, seeded by
/// the run's seed), on the same tasks as `scrub`. Effect = metric change toward worse (loss up,
/// margin down), with a bootstrap CI over items of the paired per-item change.
public final class AblateExecutor: RunExecutor {
    public let lm: LanguageModel
    /// Data folder (nil: `dataLocation(nil)`).
    public let data: String?
    private var cleanScores: [String: (items: [ScrubItem], scores: [Double])] = [:]
    private var modelSHA: String?

    public init(model: LanguageModel, data: String?) {
        lm = model
        self.data = data
    }

    public func execute(_ run: RunSpec) throws -> [String: JSONValue] {
        guard let set = run.headSet else { throw ScrubError("ablate runs need a head set") }
        guard let kind = AblationKind(rawValue: run.string("ablation") ?? "") else {
            throw ScrubError("ablation must be zero, mean or resample")
        }
        let config = lm.config
        let slices = try set.heads.map { name -> ComponentSlice in
            guard let h = AttentionHead(name) else { throw ScrubError("bad head name '\(name)'") }
            return .head(h, config: config)
        }
        let options = ScrubTask(run: run, data: data)
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
        let bar = ProgressReporter(label: "ablate \(set.name)#\(set.index) (\(kind.rawValue))", unit: "runs")
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
