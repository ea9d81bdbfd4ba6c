import Foundation
import LocusCore
import LocusData

/// One entry of a ranking: a head and its probe's validation accuracy.
public struct RankedHead: Codable, Equatable, Sendable {
    public var layer: Int
    public var head: Int
    public var accuracy: Double

    public init(layer: Int, head: Int, accuracy: Double) {
        self.layer = layer
        self.head = head
        self.accuracy = accuracy
    }

    public var id: AttentionHead { AttentionHead(layer: layer, head: head) }

    /// Sorted by accuracy, best first; ties broken by (layer, head) so rankings are reproducible.
    public static func sorted(_ heads: [RankedHead]) -> [RankedHead] {
        heads.sorted {
            $0.accuracy != $1.accuracy ? $0.accuracy > $1.accuracy : $0.id < $1.id
        }
    }
}

/// A unit direction in one head's z space and the standard deviation σ of the training
/// activations projected on it (population std, numpy's default; which questions: the ranking's
/// `directionData`).
public struct HeadDirection: Codable, Equatable, Sendable {
    public var direction: [Float]
    public var sigma: Double

    public init(direction: [Float], sigma: Double) {
        self.direction = direction
        self.sigma = sigma
    }
}

/// The probe of one head in one fold, with both ITI directions.
public struct HeadProbe: Codable, Equatable, Sendable {
    public var layer: Int
    public var head: Int
    /// Accuracy on the fold's validation questions (the ranking criterion).
    public var validationAccuracy: Double
    public var trainAccuracy: Double
    /// θ = mean(true) − mean(false) over the fold's training questions (or train + validation,
    /// the ranking's `directionData`), unit norm.
    public var massMean: HeadDirection
    /// θ = the probe's weight vector, unit norm.
    public var probe: HeadDirection
    public var probeWeights: [Float]
    public var probeBias: Double
    public var newtonIterations: Int

    public var id: AttentionHead { AttentionHead(layer: layer, head: head) }
}

/// One cross-validation fold: which questions trained, validated and were held out, and the
/// probes trained on it. ITI evaluated with this fold's heads and directions may only be scored on
/// `heldOutQuestions`.
public struct ProbeFold: Codable, Equatable, Sendable {
    public var fold: Int
    public var trainQuestions: [Int]
    public var validationQuestions: [Int]
    public var heldOutQuestions: [Int]
    /// The seed of the train/validation split inside the training fold.
    public var validationSplitSeed: UInt64
    /// All heads by validation accuracy, best first.
    public var heads: [RankedHead]
    /// Every head's probe, layer-major ((0,0), (0,1), …).
    public var probes: [HeadProbe]

    /// The training fold: train and validation questions (directions and σ use `trainQuestions`
    /// only unless the ranking's `directionData` says train+validation).
    public var trainingFoldQuestions: [Int] { (trainQuestions + validationQuestions).sorted() }

    /// The questions directions and σ are computed on under `data`.
    public func directionQuestions(_ data: DirectionData) -> [Int] {
        data == .train ? trainQuestions.sorted() : trainingFoldQuestions
    }

    public func probe(_ id: AttentionHead, headCount: Int) -> HeadProbe {
        probes[id.layer * headCount + id.head]
    }
}

/// A named set of questions a ranking was restricted to, e.g. `ipo-train split seed 0`.
public struct QuestionSubset: Codable, Equatable, Sendable {
    /// What the questions are (recorded, e.g. "IPO training questions, 60/20/20 split seed 0").
    public var label: String
    public var ids: [Int]

    public init(label: String, ids: [Int]) {
        self.label = label
        self.ids = ids.sorted()
    }
}

/// The output of `locus probe`: per-head probe accuracies, directions and σ, and the splits.
///
/// `heads` (top level) ranks heads by validation accuracy averaged over the folds; it is the
/// single ranking for consumers that need one (e.g. "top-K heads" for steering). ITI evaluation
/// uses each fold's own `heads` so that held-out questions never influence head choice.
public struct ProbeRanking: Codable, Equatable, Sendable {
    public static let currentFormat = "locus.probe-ranking/1"

    public struct Model: Codable, Equatable, Sendable {
        public var file: String
        public var sha256: String
    }

    public struct Cache: Codable, Equatable, Sendable {
        public var directory: String
        public var key: String
    }

    public var format: String = ProbeRanking.currentFormat
    public var model: Model
    public var activationCache: Cache
    public var promptFormat: ProbePromptFormat
    public var site: String = "blocks.{layer}.attn.hook_z, head h = columns h*headWidth..<(h+1)*headWidth"
    public var position: String = "last token"
    public var seed: UInt64
    public var foldCount: Int
    public var validationFraction: Double
    /// Inverse L2 strength (scikit-learn's C).
    public var c: Double
    public var layerCount: Int
    public var headCount: Int
    public var headWidth: Int
    public var sampleCount: Int
    public var questionCount: Int
    public var headsRankedBy: String = "mean validation accuracy over folds"
    /// All heads, best first: `{"layer": l, "head": h, "accuracy": a}`.
    public var heads: [RankedHead]
    /// The K of `top`.
    public var topK: Int
    /// The first `topK` entries of `heads`: the "localized" heads.
    public var top: [RankedHead]
    public var folds: [ProbeFold]
    /// Questions the directions and σ were computed on; nil in files written before issue 11,
    /// whose directions and σ used train + validation questions.
    public var directionData: DirectionData?
    /// The questions the probes were restricted to (nil: every question of the activations).
    public var questionSubset: QuestionSubset?

    /// The first k heads of `heads` (or of a fold's ranking).
    public func top(_ k: Int, fold: Int? = nil) -> [AttentionHead] {
        let list = fold.map { folds[$0].heads } ?? heads
        return list.prefix(k).map(\.id)
    }

    /// Mean validation accuracy per (layer, head), as [layer][head].
    public var meanAccuracyGrid: [[Double]] {
        var grid = [[Double]](repeating: [Double](repeating: .nan, count: headCount), count: layerCount)
        for h in heads { grid[h.layer][h.head] = h.accuracy }
        return grid
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AtomicFile.write(try encoder.encode(self), to: url)
    }

    public static func load(_ url: URL) throws -> ProbeRanking {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DataError(file: url.path, problem: "cannot read: \(error.localizedDescription)")
        }
        let ranking: ProbeRanking
        do { ranking = try JSONDecoder().decode(ProbeRanking.self, from: data) } catch {
            throw DataError(file: url.path, problem: "not a probe ranking: \(error)")
        }
        guard ranking.format == currentFormat else {
            throw DataError(file: url.path, problem: "format \(ranking.format), expected \(currentFormat)")
        }
        return ranking
    }
}
