import Foundation
import LocusEditing

/// Settings of ROME and FT-L edits and of their key statistics (`locus edit rome|ft`,
/// `locus eval counterfact`, the Hase and interchange analyses). Defaults are the CLI's.
public struct EditConfiguration: Sendable {
    /// Layer to edit.
    public var layer: Int
    /// ROME: loss evaluations for δ (v_num_grad_steps; at most steps − 1 updates).
    public var steps: Int
    /// ROME: generated context prefixes for k* and v*.
    public var contexts: Int
    /// ROME: seed of the context prefixes' opening words.
    public var contextSeed: UInt64
    /// ROME: learning rate of δ.
    public var learningRate: Double
    /// ROME: KL factor.
    public var klFactor: Double
    /// ROME: early stop, a `ROMEEarlyStop` raw value.
    public var romeEarlyStop: String
    /// ROME: key in the update's denominator, a `ROMEUpdateKey` raw value.
    public var romeUpdateKey: String
    /// ROME's context prefixes: "sampled" (ROME, default) or "greedy" (`ContextPrefixStyle`).
    public var contextPrefixes: String = ContextPrefixStyle.sampled.rawValue
    /// Key statistics: wikitext-2 split, tokens per chunk, chunks, seed of the chunk sample.
    public var statsSplit: String
    public var statsChunkTokens: Int
    public var statsChunks: Int
    public var statsSeed: UInt64
    /// Key statistics cache folder (relative to the current directory).
    public var statsCache: String
    /// FT-L: steps, learning rate, L∞ bound ε.
    public var ftSteps: Int
    public var ftLearningRate: Double
    public var ftEpsilon: Float

    public init(
        layer: Int = 12, steps: Int = 20, contexts: Int = 20, contextSeed: UInt64 = 0, learningRate: Double = 0.5,
        klFactor: Double = 0.0625, romeEarlyStop: String = ROMEEarlyStop.totalLoss.rawValue,
        romeUpdateKey: String = ROMEUpdateKey.prompt.rawValue, statsSplit: String = "test",
        statsChunkTokens: Int = 128, statsChunks: Int = 256, statsSeed: UInt64 = 0,
        statsCache: String = "runs/cache/key-statistics", ftSteps: Int = 25, ftLearningRate: Double = 5e-4,
        ftEpsilon: Float = 5e-4
    ) {
        self.layer = layer
        self.steps = steps
        self.contexts = contexts
        self.contextSeed = contextSeed
        self.learningRate = learningRate
        self.klFactor = klFactor
        self.romeEarlyStop = romeEarlyStop
        self.romeUpdateKey = romeUpdateKey
        self.statsSplit = statsSplit
        self.statsChunkTokens = statsChunkTokens
        self.statsChunks = statsChunks
        self.statsSeed = statsSeed
        self.statsCache = statsCache
        self.ftSteps = ftSteps
        self.ftLearningRate = ftLearningRate
        self.ftEpsilon = ftEpsilon
    }

    /// The key-statistics sample (C = K Kᵀ over wikitext chunks).
    public var sample: KeyStatisticsSample {
        KeyStatisticsSample(
            split: statsSplit, chunkTokens: statsChunkTokens, chunkCount: statsChunks, seed: statsSeed)
    }

    /// ROME's hyperparameters at `layer`.
    public func rome(layer: Int) -> ROMEHyperparameters {
        var h = ROMEHyperparameters(layer: layer)
        h.steps = steps
        h.contextCount = contexts
        h.contextSeed = contextSeed
        h.contextStyle = ContextPrefixStyle(rawValue: contextPrefixes) ?? .sampled
        h.learningRate = learningRate
        h.klFactor = klFactor
        h.earlyStop = ROMEEarlyStop(rawValue: romeEarlyStop) ?? .totalLoss
        h.updateKey = ROMEUpdateKey(rawValue: romeUpdateKey) ?? .prompt
        return h
    }

    /// FT-L's hyperparameters at `layer`.
    public func fineTuning(layer: Int) -> FineTuningHyperparameters {
        var h = FineTuningHyperparameters(layer: layer)
        h.steps = ftSteps
        h.learningRate = ftLearningRate
        h.normConstraint = ftEpsilon
        return h
    }
}
