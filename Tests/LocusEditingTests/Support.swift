import Foundation
import LocusModel
import LocusTensor
import LocusTokenizer
import XCTest

/// One token per byte (the tiny model's vocabulary is 256), for tests without a real tokenizer.
struct ByteTokenizer: Tokenizer {
    var vocabularySize: Int { 256 }
    var bosID: Int? { nil }
    var eosID: Int? { nil }
    func encode(_ text: String) -> [Int] { text.utf8.map(Int.init) }
    func decode(_ ids: [Int]) -> String { String(decoding: ids.map(UInt8.init), as: UTF8.self) }
    func tokenString(_ id: Int) -> String { String(UnicodeScalar(UInt8(id))) }
}

enum EditingTestSupport {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func tiny() throws -> LanguageModel {
        BLAS.setThreadCount(1)
        let dir = packageRoot.appendingPathComponent("Tests/LocusModelTests/Fixtures/tiny-llama")
        return LanguageModel(
            model: try LlamaModel.load(from: dir), tokenizer: ByteTokenizer(), url: dir)
    }

    nonisolated(unsafe) private static var loaded: LanguageModel?

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
