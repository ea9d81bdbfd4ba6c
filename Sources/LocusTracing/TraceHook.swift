import LocusModel

/// One hook for a whole packed batch of corrupted runs: sequence s gets noise sample
/// `noiseSample[s]` on the subject embeddings (if any), then the clean activations of its own
/// restorations. Each sequence is treated differently, so a trace grid runs as a few large
/// batches instead of thousands of forward calls.
///
/// Noise is added at `.residualPre(layer: 0)` (the token embeddings) before any restoration at
/// that site. Positions are absolute, so sequences that continue a KV-cached prefix work.
public final class TraceHook: ActivationHook {
    /// noise[j]: (subject.count, C) row-major, added at the subject positions.
    let noise: [[Float]]
    let subject: Range<Int>
    let noiseSample: [Int?]
    /// site → (sequence, position) pairs to overwrite.
    let restorations: [ActivationSite: [(sequence: Int, position: Int)]]
    /// site → clean activation, (T, width) row-major over absolute positions 0..<T.
    let clean: [ActivationSite: [Float]]
    public let sites: Set<ActivationSite>

    public init(
        noise: [[Float]], subject: Range<Int>, noiseSample: [Int?],
        restorations: [[(site: ActivationSite, position: Int)]], clean: [ActivationSite: [Float]]
    ) {
        self.noise = noise
        self.subject = subject
        self.noiseSample = noiseSample
        var bySite: [ActivationSite: [(sequence: Int, position: Int)]] = [:]
        for (s, list) in restorations.enumerated() {
            for r in list { bySite[r.site, default: []].append((s, r.position)) }
        }
        self.restorations = bySite
        self.clean = clean
        var sites = Set(bySite.keys)
        if noiseSample.contains(where: { $0 != nil }) { sites.insert(.residualPre(layer: 0)) }
        self.sites = sites
    }

    public func visit(_ batch: ActivationBatch) {
        let w = batch.width
        if batch.site == .residualPre(layer: 0) {
            for (s, sample) in noiseSample.enumerated() {
                guard let sample else { continue }
                noise[sample].withUnsafeBufferPointer { z in
                    for (k, p) in subject.enumerated() {
                        guard let row = batch.row(sequence: s, position: p) else { continue }
                        for i in 0..<w { row[i] += z[k * w + i] }
                    }
                }
            }
        }
        guard let list = restorations[batch.site], let source = clean[batch.site] else { return }
        source.withUnsafeBufferPointer { src in
            for (s, p) in list {
                guard let row = batch.row(sequence: s, position: p) else { continue }
                row.baseAddress!.update(from: src.baseAddress! + p * w, count: w)
            }
        }
    }
}
