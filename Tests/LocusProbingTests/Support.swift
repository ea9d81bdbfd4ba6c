import Foundation
import LocusData
import LocusModel
import LocusTestSupport

enum ProbingTestSupport {
    static var packageRoot: URL { TestEnvironment.packageRoot }
    static func modelURL() throws -> URL { try TestEnvironment.modelURL() }
    /// Loaded once; one BLAS thread so results are reproducible bit for bit.
    static func smolLM() throws -> LanguageModel { try TestEnvironment.smolLM() }
    static func truthfulQA() throws -> TruthfulQA { try TestEnvironment.truthfulQA() }
    static func temporaryDirectory(_ name: String) throws -> URL {
        try TestEnvironment.temporaryDirectory("probing-\(name)")
    }
}

func maxAbsDifference(_ a: some Collection<Float>, _ b: some Collection<Float>) -> Float {
    LocusTestSupport.maxAbsDifference(a, b)
}
