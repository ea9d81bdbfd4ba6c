import Foundation
import LocusModel
import LocusTensor
import XCTest

enum TracingTestSupport {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The 2-layer random-weight llama of the model tests (vocab 256, width 64).
    static func tiny() throws -> LlamaModel {
        BLAS.setThreadCount(1)
        return try LlamaModel.load(
            from: packageRoot.appendingPathComponent("Tests/LocusModelTests/Fixtures/tiny-llama"))
    }

    nonisolated(unsafe) private static var loaded: LanguageModel?

    /// The real SmolLM2 checkpoint; missing is a failure with instructions, never a skip.
    static func smolLM() throws -> LanguageModel {
        BLAS.setThreadCount(1)
        if let loaded { return loaded }
        let env = ProcessInfo.processInfo.environment["LOCUS_MODEL"] ?? ""
        let url =
            env.isEmpty
            ? packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf")
            : URL(fileURLWithPath: env)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TestFailure("\(url.path) is missing: run scripts/fetch-model.sh before the tests")
        }
        let lm = try LanguageModel.load(from: url)
        loaded = lm
        return lm
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
