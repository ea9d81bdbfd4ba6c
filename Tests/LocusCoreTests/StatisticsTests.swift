import Foundation
import LocusCore
import XCTest

final class StatisticsTests: XCTestCase {
    func testMeanOfAnEmptyListIsNaN() {
        XCTAssertTrue(Statistics.mean([]).isNaN)
        XCTAssertEqual(Statistics.mean([1, 2, 6]), 3)
    }

    /// Type-7 quantiles, checked against numpy.quantile(x, p) (method="linear", the default):
    /// x = [3, 1, 4, 1, 5, 9, 2, 6] → p 0.1: 1.0, 0.25: 1.75, 0.5: 3.5, 0.9: 6.9, 1: 9.
    func testQuantilesAreType7() {
        let x: [Double] = [3, 1, 4, 1, 5, 9, 2, 6]
        let expected: [(Double, Double)] = [(0, 1), (0.1, 1.0), (0.25, 1.75), (0.5, 3.5), (0.9, 6.9), (1, 9)]
        for (p, q) in expected { XCTAssertEqual(Statistics.quantile(x, p), q, accuracy: 1e-12, "p = \(p)") }
        XCTAssertEqual(Statistics.median([5, 1, 3]), 3)
        XCTAssertEqual(Statistics.median([4, 1, 3, 2]), 2.5)
        XCTAssertTrue(Statistics.quantile([], 0.5).isNaN)
    }

    func testEmpiricalAndPermutationPValues() {
        XCTAssertEqual(Statistics.empiricalPValue(observed: 0.5, null: [0.1, 0.2, 0.6, 0.5]), 3.0 / 5)
        XCTAssertEqual(Statistics.empiricalPValue(observed: 0.9, null: Array(repeating: 0.1, count: 49)), 1.0 / 50)
        // Clearly separated groups: every relabelling gives a smaller difference.
        let a: [Double] = [10, 11, 12, 13, 14, 15], b: [Double] = [0, 1, 2, 3, 4, 5]
        let p = Statistics.permutationPValue(a, b, permutations: 999, seed: 1)
        XCTAssertLessThan(p, 0.01)
        XCTAssertEqual(p, Statistics.permutationPValue(a, b, permutations: 999, seed: 1), "seeded")
        // The same distribution: p is not small.
        XCTAssertGreaterThan(Statistics.permutationPValue(a, a, permutations: 999, seed: 1), 0.3)
    }

    func testBootstrapIsSeededAndCoversTheMean() {
        let x = (0..<40).map { Double($0 % 7) }
        let a = Statistics.meanInterval(x, seed: 3)!
        XCTAssertEqual(a, Statistics.meanInterval(x, seed: 3)!)
        XCTAssertNotEqual(a, Statistics.meanInterval(x, seed: 4)!)
        XCTAssertTrue(a.contains(Statistics.mean(x)))
        XCTAssertLessThan(a.upperBound - a.lowerBound, 2)
        XCTAssertNil(Statistics.meanInterval([], seed: 0))
        // The interval is the type-7 quantiles of the bootstrap sample.
        let sample = Statistics.bootstrapSample(count: x.count, resamples: 2000, seed: 3) { idx in
            Statistics.mean(idx.map { x[$0] })
        }
        XCTAssertEqual(a.lowerBound, Statistics.quantile(sample, 0.025))
        XCTAssertEqual(a.upperBound, Statistics.quantile(sample, 0.975))
    }
}
