import Foundation
import LocusData
import LocusModel
import LocusTestSupport

enum EvaluationTestSupport {
    static var packageRoot: URL { TestEnvironment.packageRoot }
    static func modelURL() throws -> URL { try TestEnvironment.modelURL() }
    static func smolLM() throws -> LanguageModel { try TestEnvironment.smolLM() }
    static func location() throws -> DataLocation { try TestEnvironment.dataLocation() }
    static func truthfulQA() throws -> TruthfulQA { try TestEnvironment.truthfulQA() }
}
