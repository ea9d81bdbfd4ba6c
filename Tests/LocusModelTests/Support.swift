import Foundation
import LocusModel
import LocusTensor
import LocusTestSupport
import XCTest

/// Paths and shared state of the model tests.
enum TestSupport {
    static var packageRoot: URL { TestEnvironment.packageRoot }

    static var fixtures: URL { Bundle.module.url(forResource: "Fixtures", withExtension: nil)! }

    /// The real SmolLM2 checkpoint: $LOCUS_MODEL or models/ in the package (failure if missing).
    static func modelURL() throws -> URL { try TestEnvironment.modelURL() }

    /// The real model, loaded once for all tests, with OpenBLAS pinned to one thread (the
    /// reference fixtures were made with one thread; results differ in the last bits otherwise).
    static func smolLM() throws -> LanguageModel { try TestEnvironment.smolLM() }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent(name))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }
}

typealias XCTSkipFailure = LocusTestSupport.TestFailure

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

func maxAbsDifference(_ a: some Collection<Float>, _ b: some Collection<Float>) -> Float {
    LocusTestSupport.maxAbsDifference(a, b)
}
