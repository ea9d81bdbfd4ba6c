import LocusCore
import LocusProbing

// Until the executors move lands (branch `executors`), the CLI files it moves keep the old
// names; these map them onto the one vocabulary in LocusCore and go once those files are edited.
typealias HeadID = AttentionHead
typealias HeadSelection = HeadSetSelection

extension HeadSetSelection {
    static func top(_ k: Int, of ranking: [RankedHead]) -> [AttentionHead] { ranking.prefix(k).map(\.id) }
    static func random(_ k: Int, layerCount: Int, headCount: Int, seed: UInt64) -> [AttentionHead] {
        randomHeads(k, in: ModelShape(layerCount: layerCount, headCount: headCount), seed: seed)
    }
}
