import Foundation
import LocusData
import LocusModel
import LocusTensor

enum EvaluationTestSupport {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Missing: Error, CustomStringConvertible { let description: String }

    /// The real SmolLM2 checkpoint; missing is a failure (run scripts/fetch-model.sh), never a skip.
    static func modelURL() throws -> URL {
        let env = ProcessInfo.processInfo.environment["LOCUS_MODEL"] ?? ""
        let url =
            env.isEmpty
            ? packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf")
            : URL(fileURLWithPath: env)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw Missing(description: "\(url.path) is missing: run scripts/fetch-model.sh first")
        }
        return url
    }

    nonisolated(unsafe) private static var loaded: LanguageModel?

    static func smolLM() throws -> LanguageModel {
        BLAS.setThreadCount(1)
        if let loaded { return loaded }
        let lm = try LanguageModel.load(from: try modelURL())
        loaded = lm
        return lm
    }

    static func location() throws -> DataLocation { try DataLocation.resolve(searchFrom: [packageRoot]) }

    static func truthfulQA() throws -> TruthfulQA { try TruthfulQA.load(from: try location()) }
}
