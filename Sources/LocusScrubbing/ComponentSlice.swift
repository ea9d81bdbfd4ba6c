import LocusCore
import LocusInterventions
import LocusModel

/// A part of one site's activation: a column range (all columns when `nil`) at some positions
/// (all when `nil`; negative positions count from the end, −1 = last). One head of layer l is
/// `.headOutput(layer: l)` with columns h·D..<(h+1)·D.
public struct ComponentSlice: Hashable, Codable, Sendable, CustomStringConvertible {
    public var site: ActivationSite
    public var columns: Range<Int>?
    public var positions: [Int]?

    public init(site: ActivationSite, columns: Range<Int>? = nil, positions: [Int]? = nil) {
        self.site = site
        self.columns = columns
        self.positions = positions
    }

    /// Head h of layer l (columns of `.headOutput`).
    public static func head(_ head: AttentionHead, config: ModelConfig) -> ComponentSlice {
        let d = config.headWidth
        return ComponentSlice(
            site: .headOutput(layer: head.layer), columns: (head.head * d)..<((head.head + 1) * d))
    }

    /// The absolute positions this slice covers in a sequence of `length` tokens, in order.
    public func resolvedPositions(length: Int) -> [Int] {
        guard let positions else { return Array(0..<length) }
        return positions.map { $0 < 0 ? length + $0 : $0 }.filter { $0 >= 0 && $0 < length }
    }

    public var description: String {
        var text = site.description
        if let columns { text += "[\(columns.lowerBound)..<\(columns.upperBound)]" }
        if let positions { text += "@" + positions.map(String.init).joined(separator: ",") }
        return text
    }
}
