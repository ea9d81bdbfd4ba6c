import Foundation
import LocusEditing

/// A Hase et al. ("analysis": "hase") or interchange-agreement ("analysis": "interchange")
/// recipe in Recipes/ (METHODS.md §8): which facts, which layers, tracing and ROME settings.
public struct AnalysisRecipe: Decodable, Sendable {
    public var analysis: String
    public var model: String?
    public var data: String
    public var records: Int
    public var offset: Int
    public var seed: UInt64
    public var layers: [Int]
    public var output: String
    public var tracing: TracingSettings
    public var rome: ROMESettings
    public var keyStatistics: KeyStatisticsSample
    public var filter: FilterSettings?

    public var haseFilter: HaseFilter {
        filter.map { HaseFilter(requireCorrect: $0.requireCorrect, minTrueProbability: $0.minTrueProbability) }
            ?? HaseFilter()
    }

    public struct TracingSettings: Decodable, Sendable {
        public var kind: String
        public var window: Int
        public var samples: Int
        /// ν in units of `noiseBasis`'s std.
        public var noise: Double
        /// "subjects" (ROME's collect_embedding_std, default) or "matrix".
        public var noiseBasis: String?
    }
    public struct ROMESettings: Decodable, Sendable {
        public var steps: Int
        public var contexts: Int
        public var contextSeed: UInt64
        /// "total-loss" (ROME, default) or "never" (belief-localization's ROME).
        public var earlyStop: String?
        /// "prompt" (ROME, default) or "averaged".
        public var updateKey: String?
    }
    /// Hase's fact filter (`HaseFilter`); absent = the notebook's (correct, p(true) ≥ 0.02).
    public struct FilterSettings: Decodable, Sendable {
        public var requireCorrect: Bool
        public var minTrueProbability: Double
    }
}

extension AnalysisRecipe {
    /// Reads a recipe file; the error names the file.
    public static func load(_ url: URL) throws -> AnalysisRecipe {
        try JSONDecoder().decode(AnalysisRecipe.self, from: Data(contentsOf: url))
    }

    /// Whether `path` is a Hase / interchange recipe (it has an "analysis" field), which
    /// `locus run` hands to this command.
    public static func isAnalysisRecipe(_ path: String) -> Bool {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return false }
        return object["analysis"] is String
    }
}
