import Foundation
import LocusTokenizer
import XCTest

/// Tokenising the whole TruthfulQA CSV (≈ 476 kB) must take well under a second in release.
final class PerformanceTests: XCTestCase {
    func testTruthfulQACSVEncodesQuickly() throws {
        let text = try sharedText("truthfulqa/TruthfulQA.csv")
        let tokenizer = try TestResources.smolLM.get()
        let clock = ContinuousClock()
        var ids: [Int] = []
        // A fresh text each time would only re-fill the cache; the first pass is the cold one.
        let cold = clock.measure { ids = tokenizer.encode(text) }
        let warm = clock.measure { _ = tokenizer.encode(text) }
        print("TruthfulQA.csv: \(text.utf8.count) bytes → \(ids.count) ids; "
            + "cold \(cold), warm \(warm)")
        XCTAssertEqual(ids.count, 114_517)
        #if !DEBUG
        XCTAssertLessThan(cold, .seconds(1))
        #endif
    }
}
