import Foundation
import LocusModel
import LocusTensor
import XCTest

enum TestSupport {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    nonisolated(unsafe) private static var tinyModel: LlamaModel?

    /// The 2-layer tiny llama (C 64, 4 heads of 16, 2 KV heads) of the model tests.
    static func tiny() throws -> LlamaModel {
        BLAS.setThreadCount(1)
        if let tinyModel { return tinyModel }
        let m = try LlamaModel.load(
            from: packageRoot.appendingPathComponent("Tests/LocusModelTests/Fixtures/tiny-llama"))
        tinyModel = m
        return m
    }

    /// The real SmolLM2 checkpoint; missing is a failure, not a skip.
    static func smolLM() throws -> LanguageModel {
        BLAS.setThreadCount(2)
        let env = ProcessInfo.processInfo.environment["LOCUS_MODEL"] ?? ""
        let url =
            env.isEmpty
            ? packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf")
            : URL(fileURLWithPath: env)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw Failure("\(url.path) is missing: run scripts/fetch-model.sh before the tests")
        }
        return try LanguageModel.load(from: url)
    }

    /// Seeded token lists for the tiny model.
    static func tokens(count: Int, length: Int, seed: UInt64) -> [[Int]] {
        var g = SeededGenerator(seed: seed)
        return (0..<count).map { _ in (0..<length).map { _ in 3 + Int(g.next() % 250) } }
    }

    static func maxDifference(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
