import Foundation
import LocusCore
import LocusModel

// `AttentionHead`, `ModelShape` and `HeadSetSelection` live in LocusCore (the vocabulary every
// layer shares); these read the head grid off a loaded model's configuration.

extension ModelShape {
    /// The head grid of a model: `layerCount` × `headCount` query heads.
    public init(_ config: ModelConfig) {
        self.init(layerCount: config.layerCount, headCount: config.headCount)
    }
}

extension AttentionHead {
    /// Every head of a model, layer-major.
    public static func all(in config: ModelConfig) -> [AttentionHead] { all(in: ModelShape(config)) }
}

extension HeadSetSelection {
    /// The heads, sorted, checked against the model's shape.
    public func resolve(in config: ModelConfig) throws -> [AttentionHead] { try resolve(in: ModelShape(config)) }
}
