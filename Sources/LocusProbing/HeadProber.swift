import LocusCore
import Foundation
import LocusData

/// Which questions of a fold the ITI directions (mass-mean and probe) and their σ are computed on.
///
/// honest_llama computes the mass-mean direction on train + validation questions
/// (`utils.py` `get_com_directions`, lines 768–776 at 2c6b217: `usable_idxs =
/// np.concatenate([train_set_idxs, val_set_idxs])`) and σ on *every* sample, held-out fold
/// included (`utils.py` `get_interventions_dict`, lines 723–740, is passed `tuning_activations`,
/// all of TruthfulQA's activations, by `validation/validate_2fold.py` lines 128 and 172). Locus never
/// uses held-out questions (a fixed leak, METHODS.md §2) and by default keeps validation
/// questions out too, so they only rank heads and choose α (issue 11, item 6).
public enum DirectionData: String, Codable, Sendable, CaseIterable {
    /// The fold's training questions only (default).
    case train
    /// Training and validation questions: honest_llama's `get_com_directions` (σ likewise).
    case trainAndValidation = "train+validation"
}

/// Settings of ITI's probing step (Li et al. 2023; directions and σ from the training questions
/// only, see `DirectionData`).
public struct ProbeSettings: Codable, Equatable, Sendable {
    public var seed: UInt64 = 0
    public var foldCount: Int = 2
    /// Share of the training fold's questions held out to rank heads.
    public var validationFraction: Double = 0.2
    /// Inverse L2 strength.
    public var c: Double = 1
    public var maxNewtonIterations: Int = 100
    /// How many heads the ranking's `top` list holds (ITI's K; the paper uses 48).
    public var topK: Int = 48
    /// Questions the directions and σ are computed on.
    public var directionData: DirectionData = .train

    public init(
        seed: UInt64 = 0, foldCount: Int = 2, validationFraction: Double = 0.2, c: Double = 1,
        topK: Int = 48, directionData: DirectionData = .train
    ) {
        self.topK = topK
        self.directionData = directionData
        self.seed = seed
        self.foldCount = foldCount
        self.validationFraction = validationFraction
        self.c = c
    }

    /// The seed of fold f's train/validation split, derived from the run's seed.
    public func validationSplitSeed(fold f: Int) -> UInt64 {
        seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(f + 1)
    }
}

/// Trains one logistic-regression probe per head on cached activations, fold by fold.
///
/// Questions (not samples) are split: `foldCount` seeded folds; for fold f the other folds form
/// the training fold, of which `validationFraction` of the questions validate. Per head:
/// probe on train questions → accuracy on validation questions; mass-mean direction and both σ
/// on the train questions (or train + validation, `settings.directionData`); nothing ever reads
/// the held-out fold.
///
/// `questions`, when given, restricts everything to those questions (samples of other questions
/// are never read): e.g. IPO's training questions, so that a "top-K" head set chosen from this
/// ranking has seen none of IPO's validation or test questions (issue 11, item 5).
///
/// Every fold needs at least one training and one validation question (heads are ranked by
/// validation accuracy; there is no fallback ranking on training accuracy, which would reward
/// overfitting): `run` throws `ProbeSplitError` otherwise, and `locus probe` checks the same
/// before collecting activations (`checkSplits(questionCount:settings:)`).
public enum HeadProber {
    /// Progress: (heads done, heads total) over all folds.
    public typealias Progress = (Int, Int) -> Void

    public static func run(
        _ activations: HeadActivations, settings: ProbeSettings, modelFile: String,
        cacheDirectory: String, questions: QuestionSubset? = nil, progress: Progress? = nil
    ) throws -> ProbeRanking {
        let header = activations.header
        var questionIDs = Array(Set(header.questionIDs)).sorted()
        if let questions {
            let allowed = Set(questions.ids)
            questionIDs = questionIDs.filter { allowed.contains($0) }
        }
        try checkSplits(questionCount: questionIDs.count, settings: settings)
        var samplesOf: [Int: [Int]] = [:]
        for (s, q) in header.questionIDs.enumerated() { samplesOf[q, default: []].append(s) }
        let foldPositions = QuestionSplit.folds(
            count: questionIDs.count, folds: settings.foldCount, seed: settings.seed)
        let folds = foldPositions.map { $0.map { questionIDs[$0] } }
        let headTotal = header.layerCount * header.headCount

        var probeFolds: [ProbeFold] = []
        for (f, heldOut) in folds.enumerated() {
            let trainingFold = folds.enumerated().filter { $0.offset != f }.flatMap(\.element).sorted()
            let splitSeed = settings.validationSplitSeed(fold: f)
            let parts = QuestionSplit.partition(
                trainingFold,
                fractions: [1 - settings.validationFraction, settings.validationFraction],
                seed: splitSeed)
            let trainRows = parts[0].flatMap { samplesOf[$0]! }
            let validationRows = parts[1].flatMap { samplesOf[$0]! }
            let foldRows =
                settings.directionData == .train ? trainRows : trainingFold.flatMap { samplesOf[$0]! }
            let trainLabels = trainRows.map { header.labels[$0] }
            let validationLabels = validationRows.map { header.labels[$0] }
            let foldLabels = foldRows.map { header.labels[$0] }

            let slots = ParallelSlots<HeadProbe>(count: headTotal, progress: progress)
            let offset = f * headTotal, total = headTotal * folds.count
            DispatchQueue.concurrentPerform(iterations: headTotal) { index in
                let id = AttentionHead(layer: index / header.headCount, head: index % header.headCount)
                let probe = probeHead(
                    id, activations: activations, trainRows: trainRows,
                    trainLabels: trainLabels, validationRows: validationRows,
                    validationLabels: validationLabels, foldRows: foldRows,
                    foldLabels: foldLabels, settings: settings)
                slots.store(probe, at: index, progressOffset: offset, progressTotal: total)
            }
            let finished = slots.values
            probeFolds.append(
                ProbeFold(
                    fold: f, trainQuestions: parts[0], validationQuestions: parts[1],
                    heldOutQuestions: heldOut, validationSplitSeed: splitSeed,
                    heads: RankedHead.sorted(
                        finished.map {
                            RankedHead(layer: $0.layer, head: $0.head, accuracy: $0.validationAccuracy)
                        }),
                    probes: finished))
        }
        let mean = (0..<headTotal).map { index -> RankedHead in
            let accuracy =
                probeFolds.map { $0.probes[index].validationAccuracy }.reduce(0, +)
                / Double(probeFolds.count)
            return RankedHead(
                layer: index / header.headCount, head: index % header.headCount, accuracy: accuracy)
        }
        return ProbeRanking(
            model: .init(file: modelFile, sha256: header.modelSHA256),
            activationCache: .init(directory: cacheDirectory, key: header.key),
            promptFormat: header.promptFormat, seed: settings.seed,
            foldCount: settings.foldCount, validationFraction: settings.validationFraction,
            c: settings.c, layerCount: header.layerCount, headCount: header.headCount,
            headWidth: header.headWidth, sampleCount: header.sampleCount,
            questionCount: questionIDs.count, heads: RankedHead.sorted(mean),
            topK: min(settings.topK, headTotal),
            top: Array(RankedHead.sorted(mean).prefix(settings.topK)), folds: probeFolds,
            directionData: settings.directionData, questionSubset: questions)
    }

    /// One head's probe; `foldRows` are the samples its directions and σ are computed on.
    static func probeHead(
        _ id: AttentionHead, activations: HeadActivations, trainRows: [Int], trainLabels: [Bool],
        validationRows: [Int], validationLabels: [Bool], foldRows: [Int], foldLabels: [Bool],
        settings: ProbeSettings
    ) -> HeadProbe {
        let d = activations.header.headWidth
        let xTrain = activations.head(layer: id.layer, head: id.head, samples: trainRows)
        let xValidation = activations.head(layer: id.layer, head: id.head, samples: validationRows)
        let xFold = activations.head(layer: id.layer, head: id.head, samples: foldRows)
        let model = LogisticRegression.fit(
            x: xTrain, labels: trainLabels, columns: d, c: settings.c,
            maxIterations: settings.maxNewtonIterations)
        let massMean = DirectionStatistics.massMean(x: xFold, labels: foldLabels, columns: d)
        let probeDirection = DirectionStatistics.unit(model.weights)
        return HeadProbe(
            layer: id.layer, head: id.head,
            validationAccuracy: model.accuracy(x: xValidation, labels: validationLabels),
            trainAccuracy: model.accuracy(x: xTrain, labels: trainLabels),
            massMean: HeadDirection(
                direction: massMean.map(Float.init),
                sigma: DirectionStatistics.projectionStd(x: xFold, direction: massMean, columns: d)),
            probe: HeadDirection(
                direction: probeDirection.map(Float.init),
                sigma: DirectionStatistics.projectionStd(
                    x: xFold, direction: probeDirection, columns: d)),
            probeWeights: model.weights.map(Float.init), probeBias: model.bias,
            newtonIterations: model.iterations)
    }
}

/// Directions and spreads in one head's activation space.
public enum DirectionStatistics {
    /// v / ‖v‖ (v itself when zero).
    public static func unit(_ v: [Double]) -> [Double] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? v.map { $0 / norm } : v
    }

    /// unit(mean of rows labelled true − mean of rows labelled false).
    public static func massMean(x: [Double], labels: [Bool], columns d: Int) -> [Double] {
        var sumTrue = [Double](repeating: 0, count: d), sumFalse = sumTrue
        var nTrue = 0, nFalse = 0
        for (i, label) in labels.enumerated() {
            if label {
                nTrue += 1
                for j in 0..<d { sumTrue[j] += x[i * d + j] }
            } else {
                nFalse += 1
                for j in 0..<d { sumFalse[j] += x[i * d + j] }
            }
        }
        let diff = (0..<d).map {
            sumTrue[$0] / Double(max(nTrue, 1)) - sumFalse[$0] / Double(max(nFalse, 1))
        }
        return unit(diff)
    }

    /// Population standard deviation of the rows projected on `direction`.
    public static func projectionStd(x: [Double], direction: [Double], columns d: Int) -> Double {
        let n = x.count / d
        guard n > 0 else { return 0 }
        var projections = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var s = 0.0
            for j in 0..<d { s += x[i * d + j] * direction[j] }
            projections[i] = s
        }
        let mean = projections.reduce(0, +) / Double(n)
        let variance = projections.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
        return variance.squareRoot()
    }
}

/// Results of a parallel loop, one slot per iteration, filled under a lock (the loop's order of
/// completion never changes the result), with progress reported as slots fill.
final class ParallelSlots<T>: @unchecked Sendable {
    private var slots: [T?]
    private var filled = 0
    private let lock = NSLock()
    private let progress: ((Int, Int) -> Void)?

    init(count: Int, progress: ((Int, Int) -> Void)?) {
        slots = Array(repeating: nil, count: count)
        self.progress = progress
    }

    func store(_ value: T, at index: Int, progressOffset: Int = 0, progressTotal: Int? = nil) {
        lock.lock()
        defer { lock.unlock() }
        slots[index] = value
        filled += 1
        progress?(progressOffset + filled, progressTotal ?? slots.count)
    }

    var values: [T] { slots.map { $0! } }
}
