import LocusModel

/// What replaces a slice of an activation.
public enum AblationOperation: Sendable, Equatable {
    /// a ← 0.
    case zero
    /// a ← m, a fixed vector of the site's full width (mean ablation: the mean activation over a
    /// reference data set, see `MeanActivations`); only the slice's columns are used.
    case constant([Float])
    /// a ← the activation of sequence `sourceSequence` of the same forward call (resample
    /// ablation and scrubbing), positions mapped by the hook's `PositionAlignment`. The source
    /// must be a complete sequence (no KV cache) and, if it is itself edited at the same site,
    /// have a higher index than the target (edits run from the last sequence to the first, so
    /// sources are final before they are read).
    case resample(sourceSequence: Int)
}

/// One edit of one sequence of a packed batch.
public struct AblationEdit: Sendable, Equatable {
    public var slice: ComponentSlice
    public var operation: AblationOperation

    public init(slice: ComponentSlice, operation: AblationOperation) {
        self.slice = slice
        self.operation = operation
    }
}

/// Zero, mean and resample ablation as one hook, with different edits for each sequence of a
/// packed batch, so many ablated runs (and their clean resampling sources) share one forward
/// call. `edits[s]` are the edits of sequence s (sequences past the end are left alone).
public final class AblationHook: ActivationHook {
    public let edits: [[AblationEdit]]
    public let alignment: PositionAlignment
    public let sites: Set<ActivationSite>

    public init(edits: [[AblationEdit]], alignment: PositionAlignment = .start) {
        self.edits = edits
        self.alignment = alignment
        sites = Set(edits.flatMap { $0.map(\.slice.site) })
    }

    /// The same edits for every one of `sequenceCount` sequences.
    public convenience init(_ edits: [AblationEdit], sequenceCount: Int) {
        self.init(edits: Array(repeating: edits, count: sequenceCount))
    }

    public func visit(_ batch: ActivationBatch) {
        let width = batch.width
        for s in stride(from: min(edits.count, batch.sequences.count) - 1, through: 0, by: -1) {
            let span = batch.sequences[s]
            let length = span.firstPosition + span.rowCount
            for edit in edits[s] where edit.slice.site == batch.site {
                let cols = edit.slice.columns ?? 0..<width
                precondition(cols.upperBound <= width, "\(edit.slice) exceeds width \(width)")
                for p in edit.slice.resolvedPositions(length: length) {
                    guard let r = span.row(ofPosition: p) else { continue }
                    let target = batch.values + r * width
                    switch edit.operation {
                    case .zero:
                        for c in cols { target[c] = 0 }
                    case .constant(let m):
                        precondition(m.count == width, "mean vector width \(m.count) ≠ \(width)")
                        for c in cols { target[c] = m[c] }
                    case .resample(let j):
                        let source = batch.sequences[j]
                        precondition(source.firstPosition == 0, "resample sources need whole sequences")
                        let q = alignment.sourcePosition(
                            p, targetLength: length, sourceLength: source.rowCount)
                        let from = batch.values + (source.rowStart + q) * width
                        for c in cols { target[c] = from[c] }
                    }
                }
            }
        }
    }
}
