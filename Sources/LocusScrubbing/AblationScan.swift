import LocusModel
import LocusTensor

/// The ablation operations of `locus ablate`.
public enum AblationKind: String, Codable, Sendable, CaseIterable {
    case zero, mean, resample
}

/// Scores a data set with groups of component slices ablated, every (group, item) an ablated run
/// of its own, many of them packed in each forward call.
///
/// Resample ablation: item i reads the activation of one other item r(i), drawn uniformly with
/// `SeededGenerator(mix(seed, i))` (a random one of its sequences), the same source for every
/// group so groups are compared on equal draws; positions aligned by `alignment`. Mean ablation
/// uses `means[site]` (full-width vectors, see `MeanActivations`).
public struct AblationScan {
    public let model: DecoderModel
    public let items: [ScrubItem]
    public var alignment: PositionAlignment = .start
    public var seed: UInt64 = 0
    public var tokensPerCall: Int = 1024

    public init(model: DecoderModel, items: [ScrubItem]) {
        self.model = model
        self.items = items
    }

    /// The resampling source (item, sequence) of item i.
    public func source(of i: Int) -> (item: Int, sequence: Int) {
        var g = SeededGenerator(seed: mix(seed, UInt64(i), 0x5EED))
        var j = i
        if items.count > 1 {
            j = Int(g.next() % UInt64(items.count - 1))
            if j >= i { j += 1 }
        }
        return (j, Int(g.next() % UInt64(items[j].sequences.count)))
    }

    /// scores[g][i]: item i's score with every slice of group g ablated (an empty group is the
    /// clean model).
    public func scores(
        groups: [[ComponentSlice]], kind: AblationKind, means: [ActivationSite: [Float]] = [:],
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> [[Double]] {
        var units: [RunUnit] = []
        for group in groups {
            for i in items.indices {
                var unit = RunUnit(item: i)
                var operation: (ComponentSlice) -> AblationOperation
                switch kind {
                case .zero: operation = { _ in .zero }
                case .mean: operation = { .constant(means[$0.site]!) }
                case .resample:
                    let (j, k) = source(of: i)
                    let index = items[i].sequences.count
                    operation = { _ in .resample(sourceSequence: index) }
                    unit.targets = items[i].sequences.map { unit.append($0) }
                    _ = unit.append(items[j].sequences[k])
                }
                if unit.targets.isEmpty { unit.targets = items[i].sequences.map { unit.append($0) } }
                let edits = group.map { AblationEdit(slice: $0, operation: operation($0)) }
                for t in unit.targets { unit.edits[t] = edits }
                units.append(unit)
            }
        }
        let flat = try BatchExecutor(model: model, alignment: alignment, tokensPerCall: tokensPerCall)
            .score(units, items: items, progress: progress)
        return groups.indices.map { g in Array(flat[(g * items.count)..<((g + 1) * items.count)]) }
    }
}
