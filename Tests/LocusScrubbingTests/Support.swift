import Foundation
import LocusModel
import LocusTensor
import LocusTestSupport
import XCTest

enum TestSupport {
    static var packageRoot: URL { TestEnvironment.packageRoot }

    /// The 2-layer tiny llama (C 64, 4 heads of 16, 2 KV heads) of the model tests: a fresh
    /// load each time (a few ms), so no test sees weights another test changed.
    static func tiny() throws -> DecoderModel {
        try TestEnvironment.tinyLlama()
    }

    /// The real SmolLM2 checkpoint (loaded once); missing is a failure, not a skip.
    static func smolLM() throws -> LanguageModel {
        let lm = try TestEnvironment.smolLM()
        BLAS.setThreadCount(2)
        return lm
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
