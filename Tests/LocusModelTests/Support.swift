import Foundation
import LocusModel
import LocusTensor
import XCTest

/// Paths and shared state of the model tests.
enum TestSupport {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var fixtures: URL { Bundle.module.url(forResource: "Fixtures", withExtension: nil)! }

    /// The real SmolLM2 checkpoint: $LOCUS_MODEL or models/ in the package. Missing is a failure,
    /// not a skip: CI fetches it with scripts/fetch-model.sh.
    static func modelURL() throws -> URL {
        let env = ProcessInfo.processInfo.environment["LOCUS_MODEL"] ?? ""
        let url =
            env.isEmpty
            ? packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf")
            : URL(fileURLWithPath: env)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkipFailure(
                "\(url.path) is missing: run scripts/fetch-model.sh before the tests")
        }
        return url
    }

    nonisolated(unsafe) private static var loaded: LanguageModel?

    /// The real model, loaded once for all tests, with OpenBLAS pinned to one thread (the
    /// reference fixtures were made with one thread; results differ in the last bits otherwise).
    static func smolLM() throws -> LanguageModel {
        BLAS.setThreadCount(1)
        if let loaded { return loaded }
        let lm = try LanguageModel.load(from: try modelURL())
        loaded = lm
        return lm
    }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent(name))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }
}

/// An error that fails a test with a message (XCTest has no "fail with this error" type).
struct XCTSkipFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

extension Array where Element == Any {
    var floats: [Float] { map { Float(($0 as! NSNumber).doubleValue) } }
    var ints: [Int] { map { ($0 as! NSNumber).intValue } }
}

extension Dictionary where Key == String, Value == Any {
    // A fixture lacking a key fails the test that reads it (not the whole test process).
    func list(_ key: String) -> [Any] { field(key) ?? [] }
    func dict(_ key: String) -> [String: Any] { field(key) ?? [:] }
    func float(_ key: String) -> Float { Float((field(key) as NSNumber?)?.doubleValue ?? .nan) }
    func string(_ key: String) -> String { field(key) ?? "" }

    private func field<T>(_ key: String) -> T? {
        guard let value = self[key] as? T else {
            XCTFail("fixture field '\(key)' is missing or not a \(T.self)")
            return nil
        }
        return value
    }
}

/// Largest |a − b|.
func maxAbsDifference(_ a: some Collection<Float>, _ b: some Collection<Float>) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}
