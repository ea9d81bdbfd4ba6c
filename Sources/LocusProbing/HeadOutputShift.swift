import LocusInterventions
import LocusModel

/// The ITI edit as one hook: at each touched layer's `.headOutput` site, adds every selected
/// head's α·σ·θ to its D columns at the chosen positions.
public final class HeadOutputShift: ActivationHook {
    public let sites: Set<ActivationSite>
    public let positions: Positions
    /// layer → (first column, displacement) per touched head.
    private let shifts: [Int: [(column: Int, vector: [Float])]]

    public init(edit: ITIEdit, positions: Positions) {
        var byLayer: [Int: [(column: Int, vector: [Float])]] = [:]
        for shift in edit.heads {
            byLayer[shift.layer, default: []].append(
                (shift.head * edit.headWidth, edit.displacement(shift)))
        }
        shifts = byLayer
        sites = Set(byLayer.keys.map { ActivationSite.headOutput(layer: $0) })
        self.positions = positions
    }

    public func visit(_ batch: ActivationBatch) {
        guard let list = shifts[batch.site.layer] else { return }
        for (s, span) in batch.sequences.enumerated() {
            for r in positions.rows(of: span, sequence: s) {
                let row = batch.values + r * batch.width
                for (column, vector) in list {
                    precondition(column + vector.count <= batch.width, "head outside the site")
                    let p = row + column
                    for j in 0..<vector.count { p[j] += vector[j] }
                }
            }
        }
    }
}
