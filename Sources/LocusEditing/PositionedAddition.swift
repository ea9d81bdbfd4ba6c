import LocusModel

/// Adds one vector at one position per sequence (e.g. δ at each prompt's last subject token).
/// A shift, so the backward pass carries gradients through it unchanged.
public final class PositionedAddition: ActivationHook {
    public let site: ActivationSite
    public var vector: [Float]
    /// positions[s]: the absolute position of sequence s that gets the vector (nil: none).
    public let positions: [Int?]
    public var sites: Set<ActivationSite> { [site] }

    public init(site: ActivationSite, vector: [Float], positions: [Int?]) {
        self.site = site
        self.vector = vector
        self.positions = positions
    }

    public func visit(_ batch: ActivationBatch) {
        for (s, p) in positions.enumerated() {
            guard let p, let row = batch.row(sequence: s, position: p) else { continue }
            for i in 0..<vector.count { row[i] += vector[i] }
        }
    }
}
