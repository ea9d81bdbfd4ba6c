import LocusModel

/// Records activations at chosen sites (TransformerLens's `run_with_cache`). Reads only, so the
/// logits of a recorded run are bit-identical to an unrecorded one.
public final class ActivationRecorder: ActivationHook {
    public let sites: Set<ActivationSite>
    public let positions: Positions
    /// site → one matrix per sequence, (rows selected, width), row-major.
    public private(set) var recorded: [ActivationSite: [[Float]]] = [:]
    /// site → the absolute positions of the recorded rows, per sequence.
    public private(set) var recordedPositions: [ActivationSite: [[Int]]] = [:]

    public init(sites: Set<ActivationSite>, positions: Positions = .all) {
        self.sites = sites
        self.positions = positions
    }

    public func visit(_ batch: ActivationBatch) {
        var perSequence: [[Float]] = []
        var positionsPerSequence: [[Int]] = []
        for (s, span) in batch.sequences.enumerated() {
            let rows = positions.rows(of: span, sequence: s)
            var values: [Float] = []
            values.reserveCapacity(rows.count * batch.width)
            for r in rows {
                values.append(
                    contentsOf: UnsafeBufferPointer(start: batch.values + r * batch.width, count: batch.width))
            }
            perSequence.append(values)
            positionsPerSequence.append(rows.map { $0 - span.rowStart + span.firstPosition })
        }
        recorded[batch.site] = perSequence
        recordedPositions[batch.site] = positionsPerSequence
    }

    /// The recorded vector of sequence `s` at absolute position `position`, if recorded.
    public func vector(at site: ActivationSite, sequence s: Int = 0, position: Int) -> [Float]? {
        guard let values = recorded[site]?[s], let positions = recordedPositions[site]?[s],
            let i = positions.firstIndex(of: position)
        else { return nil }
        let width = values.count / positions.count
        return Array(values[(i * width)..<((i + 1) * width)])
    }
}
