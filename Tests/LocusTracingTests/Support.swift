import Foundation
import LocusModel
import LocusTestSupport

typealias TestFailure = LocusTestSupport.TestFailure

enum TracingTestSupport {
    static var packageRoot: URL { TestEnvironment.packageRoot }
    static func tiny() throws -> DecoderModel { try TestEnvironment.tinyLlama() }
    static func smolLM() throws -> LanguageModel { try TestEnvironment.smolLM() }
}
