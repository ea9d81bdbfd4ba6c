import Foundation
import LocusModel
import LocusTestSupport

typealias ByteTokenizer = LocusTestSupport.ByteTokenizer
typealias TestFailure = LocusTestSupport.TestFailure

enum EditingTestSupport {
    static var packageRoot: URL { TestEnvironment.packageRoot }
    /// The tiny llama with a byte tokenizer (a fresh copy: edits do not leak between tests).
    static func tiny() throws -> LanguageModel { try TestEnvironment.tinyLanguageModel() }
    static func smolLM() throws -> LanguageModel { try TestEnvironment.smolLM() }
}
