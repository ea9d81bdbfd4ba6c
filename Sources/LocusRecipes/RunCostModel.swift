import Foundation
import LocusCore

/// Estimated single-thread seconds of one run, from per-unit times measured on SmolLM2-135M
/// (BENCHMARKS.md, "Wang & Veitch sweeps", issue 5: `locus run --threads 1`, medians over 68
/// runs, load 2.9–5.0 on 2 vCPUs). Used only to balance shards and to print plans: a wrong
/// estimate makes shards finish at different times, never changes a result.
///
/// seconds(run) = overhead
///   + questions × (mc/question if `mc`, + generation/question × maxNewTokens/32 if `generation`)
///   + documents × tokens × sideEffects/token (if `sideEffects`)
///   + for ipo/dpo: trainPairs × epochs × training/pair + validationPairs × (epochs + 1) × validation/pair.
///
/// With `questions`/pairs 0 ("all") the full sizes are used: 817 held-out questions for ITI (both
/// probe folds), the 163 questions of IPO's 20% test split, ≈ 7,400 training and ≈ 2,500
/// validation pairs (BENCHMARKS.md). The analyses (hase, interchange: one fact per run) cost
/// layers × per-layer seconds of hase-medium / interchange-medium (BENCHMARKS.md, 6 layers,
/// 10 ROME steps: 899 s and 680 s for 20 facts). Methods without a per-unit measurement (scrub, ablate,
/// trace, rome, …) get `otherRun`, a flat guess.
public struct RunCostModel: Sendable, Equatable {
    public struct Method: Sendable, Equatable {
        public var mcPerQuestion: Double
        /// At 32 new tokens per answer; scaled linearly by `maxNewTokens`.
        public var generationPerQuestion: Double
        public var sideEffectsPerToken: Double
        public var trainingPerPair: Double = 0
        /// Forward-only scoring of a validation pair: a third of a training step (not measured).
        public var validationPerPair: Double = 0
        public var allQuestions: Int
    }

    public var iti: Method
    public var preference: Method
    public var otherRun: Double
    /// Hase analysis, one fact: seconds per edit layer at 10 ROME steps (tracing, generation and
    /// the CounterFact scoring included), scaled by romeSteps / 10.
    public var hasePerLayer: Double = 7.5
    /// Interchange analysis, one fact: seconds per layer at 10 ROME steps (two patch sweeps and
    /// one ROME edit per layer), scaled by romeSteps / 10.
    public var interchangePerLayer: Double = 5.7
    /// Model loading is per process; this is per run (record writing, hooks, caches).
    public var overhead: Double
    public var allTrainPairs: Int
    public var allValidationPairs: Int

    /// The per-unit medians of BENCHMARKS.md (issue 5).
    public static let measured = RunCostModel(
        iti: Method(mcPerQuestion: 0.82, generationPerQuestion: 0.68, sideEffectsPerToken: 0.014, allQuestions: 817),
        preference: Method(
            mcPerQuestion: 2.0, generationPerQuestion: 1.4, sideEffectsPerToken: 0.012, trainingPerPair: 0.86,
            validationPerPair: 0.86 / 3, allQuestions: 163),
        otherRun: 120, overhead: 1, allTrainPairs: 7_400, allValidationPairs: 2_500)

    public init(
        iti: Method, preference: Method, otherRun: Double, overhead: Double, allTrainPairs: Int,
        allValidationPairs: Int
    ) {
        self.iti = iti
        self.preference = preference
        self.otherRun = otherRun
        self.overhead = overhead
        self.allTrainPairs = allTrainPairs
        self.allValidationPairs = allValidationPairs
    }

    /// Estimated seconds of `run` executed on its own.
    public func seconds(_ run: RunSpec) -> Double {
        let m: Method
        switch run.method {
        case "iti": m = iti
        case "ipo", "dpo": m = preference
        case "hase", "interchange":
            // layers "all"/"every:K" against SmolLM2-135M's 30 layers (the cost model has no shape).
            let layers = Double(LayerList.parse(run.string("layers") ?? "", count: 30)?.count ?? 30)
            let perLayer = run.method == "hase" ? hasePerLayer : interchangePerLayer
            return overhead + layers * perLayer * (run.number("romeSteps") ?? 20) / 10
        default: return otherRun
        }
        let d = run.data
        let questions = Double(d.questions > 0 ? d.questions : m.allQuestions)
        var s = overhead
        if run.metrics.contains("mc") { s += questions * m.mcPerQuestion }
        if run.metrics.contains("generation") {
            s += questions * m.generationPerQuestion * Double(d.maxNewTokens) / 32
        }
        if run.metrics.contains("sideEffects") {
            s += Double(d.sideEffectDocuments * d.sideEffectTokens) * m.sideEffectsPerToken
        }
        if run.method != "iti" {
            let epochs = run.number("epochs") ?? 2
            let train = Double(d.trainPairs > 0 ? d.trainPairs : allTrainPairs)
            let validation = Double(d.validationPairs > 0 ? d.validationPairs : allValidationPairs)
            s += train * epochs * m.trainingPerPair + validation * (epochs + 1) * m.validationPerPair
        }
        return s
    }

    /// Runs that one process computes once and copies: ITI at α = 0 adds exact zeros, so all
    /// α = 0 runs with the same ranking, data and metric groups are one evaluation
    /// (`ITIExecutor`'s `unedited` cache, keyed the same way). Such runs are kept in one shard.
    public static func sharedComputationKey(_ run: RunSpec) -> String? {
        guard run.method == "iti", run.number("alpha") == 0, let ranking = run.string("ranking") else { return nil }
        return [ranking, run.data.json.canonicalText, run.metrics.joined(separator: ",")].joined(separator: "|")
    }
}
