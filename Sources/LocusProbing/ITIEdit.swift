import LocusCore
import Foundation
import LocusData
import LocusInterventions
import LocusTensor

/// Where an ITI direction comes from.
public enum DirectionKind: String, Codable, CaseIterable, Sendable {
    /// mean(true) − mean(false) on the training fold (ITI's default, "center of mass").
    case massMean = "mass-mean"
    /// The probe's weight vector.
    case probe
    /// A seeded Gaussian direction (baseline); σ measured along it on the training fold.
    case random
}

/// The shift of one head: z[l, h] += α · σ · θ.
public struct HeadShift: Codable, Equatable, Sendable {
    public var layer: Int
    public var head: Int
    /// θ, unit norm, length D.
    public var direction: [Float]
    public var sigma: Double

    public init(layer: Int, head: Int, direction: [Float], sigma: Double) {
        self.layer = layer
        self.head = head
        self.direction = direction
        self.sigma = sigma
    }

    public var id: AttentionHead { AttentionHead(layer: layer, head: head) }
}

/// An inference-time intervention (Li et al. 2023): z[l, h] += α · σ[l, h] · θ[l, h] on a set of
/// heads. Plain data, serialisable into run records; `hook(positions:)` makes it act.
public struct ITIEdit: Codable, Equatable, Sendable {
    public var alpha: Double
    public var heads: [HeadShift]
    public var headWidth: Int
    public var directionKind: DirectionKind
    /// How the heads were chosen, e.g. "top-16 of fold 0" or "random 16, seed 3".
    public var selection: String

    public init(
        alpha: Double, heads: [HeadShift], headWidth: Int, directionKind: DirectionKind,
        selection: String
    ) {
        self.alpha = alpha
        self.heads = heads
        self.headWidth = headWidth
        self.directionKind = directionKind
        self.selection = selection
    }

    /// The layers touched, ascending.
    public var layers: [Int] { Array(Set(heads.map(\.layer))).sorted() }

    /// α·σ·θ for one head.
    public func displacement(_ shift: HeadShift) -> [Float] {
        let scale = Float(alpha * shift.sigma)
        return shift.direction.map { $0 * scale }
    }

    /// The concatenated per-head displacements of layer l, (H·D), zero on untouched heads.
    public func layerDisplacement(_ l: Int, headCount: Int) -> [Float] {
        var d = [Float](repeating: 0, count: headCount * headWidth)
        for shift in heads where shift.layer == l {
            let v = displacement(shift)
            for j in 0..<headWidth { d[shift.head * headWidth + j] += v[j] }
        }
        return d
    }

    /// A hook applying the edit at `positions` (one hook for all layers).
    public func hook(positions: Positions) -> HeadOutputShift {
        HeadOutputShift(edit: self, positions: positions)
    }
}

extension ITIEdit {
    /// Builds an edit from a probe ranking's fold: the given heads with their directions and σ.
    ///
    /// For `.random`, θ is drawn per head (in the order given) from `SeededGenerator(seed:)`
    /// and σ is measured on the fold's training-fold activations, so `activations` is required.
    public static func make(
        ranking: ProbeRanking, fold f: Int, heads: [AttentionHead], direction kind: DirectionKind,
        alpha: Double, seed: UInt64 = 0, activations: HeadActivations? = nil, selection: String
    ) throws -> ITIEdit {
        let fold = ranking.folds[f]
        var shifts: [HeadShift] = []
        var g = SeededGenerator(seed: seed)
        var foldRows: [Int] = []
        if kind == .random {
            guard let activations else {
                throw DataError(
                    file: ranking.activationCache.directory,
                    problem: "random directions need the activation cache \(ranking.activationCache.key)")
            }
            let questions = Set(fold.directionQuestions(ranking.directionData ?? .trainAndValidation))
            foldRows = activations.header.questionIDs.indices.filter {
                questions.contains(activations.header.questionIDs[$0])
            }
        }
        for id in heads {
            let probe = fold.probe(id, headCount: ranking.headCount)
            switch kind {
            case .massMean:
                shifts.append(
                    HeadShift(
                        layer: id.layer, head: id.head, direction: probe.massMean.direction,
                        sigma: probe.massMean.sigma))
            case .probe:
                shifts.append(
                    HeadShift(
                        layer: id.layer, head: id.head, direction: probe.probe.direction,
                        sigma: probe.probe.sigma))
            case .random:
                let theta = DirectionStatistics.unit(
                    (0..<ranking.headWidth).map { _ in g.nextNormal() })
                let x = activations!.head(layer: id.layer, head: id.head, samples: foldRows)
                let sigma = DirectionStatistics.projectionStd(
                    x: x, direction: theta, columns: ranking.headWidth)
                shifts.append(
                    HeadShift(
                        layer: id.layer, head: id.head, direction: theta.map(Float.init),
                        sigma: sigma))
            }
        }
        return ITIEdit(
            alpha: alpha, heads: shifts, headWidth: ranking.headWidth, directionKind: kind,
            selection: selection)
    }
}
