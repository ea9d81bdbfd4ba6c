import LocusModel

/// Adds a fixed vector to a slice of the activation at one site: `a[cols] += v` at the chosen
/// positions. With `.headOutput` and columns h·D..<(h+1)·D this is ITI's and steering's edit
/// of head h.
public final class VectorAddition: ActivationHook {
    public let site: ActivationSite
    public let columnStart: Int
    public let vector: [Float]
    public let positions: Positions
    public var sites: Set<ActivationSite> { [site] }

    public init(site: ActivationSite, columnStart: Int = 0, vector: [Float], positions: Positions) {
        self.site = site
        self.columnStart = columnStart
        self.vector = vector
        self.positions = positions
    }

    public func visit(_ batch: ActivationBatch) {
        precondition(columnStart + vector.count <= batch.width, "vector exceeds the site's width")
        for (s, span) in batch.sequences.enumerated() {
            for r in positions.rows(of: span, sequence: s) {
                let row = batch.values + r * batch.width + columnStart
                for i in 0..<vector.count { row[i] += vector[i] }
            }
        }
    }
}

/// Overwrites the activation at one site and positions with stored values (activation patching):
/// `replacement[s]` holds one row per selected position of sequence s, full width.
public final class ActivationReplacement: DifferentiableHook {
    public let site: ActivationSite
    public let positions: Positions
    public let replacement: [[Float]]
    public var sites: Set<ActivationSite> { [site] }

    public init(site: ActivationSite, positions: Positions, replacement: [[Float]]) {
        self.site = site
        self.positions = positions
        self.replacement = replacement
    }

    public func visit(_ batch: ActivationBatch) {
        for (s, span) in batch.sequences.enumerated() {
            let rows = positions.rows(of: span, sequence: s)
            precondition(replacement[s].count == rows.count * batch.width, "replacement shape")
            replacement[s].withUnsafeBufferPointer { source in
                for (k, r) in rows.enumerated() {
                    (batch.values + r * batch.width).update(
                        from: source.baseAddress! + k * batch.width, count: batch.width)
                }
            }
        }
    }
}

extension ActivationReplacement {
    /// Replaced rows no longer depend on the original activation: their gradient is zero.
    public func backpropagate(_ gradient: ActivationBatch) {
        for (s, span) in gradient.sequences.enumerated() {
            for r in positions.rows(of: span, sequence: s) {
                (gradient.values + r * gradient.width).update(repeating: 0, count: gradient.width)
            }
        }
    }
}
