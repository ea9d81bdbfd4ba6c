import LocusCore
import Foundation
import LocusProbing
import LocusTensor
import XCTest

final class LogisticRegressionTests: XCTestCase {
    /// x = (−1, +1), labels (false, true), C = 1: by symmetry b = 0 and the optimality condition
    /// w + Σ(pᵢ − tᵢ)xᵢ = 0 becomes w = 2(1 − σ(w)). Solved here by bisection, independently.
    func testSymmetricOneDimensionalCase() {
        var lo = 0.0, hi = 2.0
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if mid - 2 * (1 - 1 / (1 + exp(-mid))) > 0 { hi = mid } else { lo = mid }
        }
        let model = LogisticRegression.fit(x: [-1, 1], labels: [false, true], columns: 1, c: 1)
        XCTAssertTrue(model.converged)
        XCTAssertEqual(model.weights[0], lo, accuracy: 1e-9)
        XCTAssertEqual(model.bias, 0, accuracy: 1e-9)
        XCTAssertEqual(lo, 0.6749, accuracy: 1e-3)
    }

    /// Noisy overlapping classes: at the fitted point the gradient (computed here with naive
    /// loops) vanishes, and the fit is bit-for-bit repeatable.
    func testGradientVanishesAndFitIsDeterministic() {
        var g = SeededGenerator(seed: 5)
        let n = 300, d = 8
        var x: [Double] = [], labels: [Bool] = []
        for _ in 0..<n {
            let label = g.nextUnit() < 0.4
            labels.append(label)
            for j in 0..<d { x.append(g.nextNormal() + (label && j < 3 ? 0.8 : 0)) }
        }
        for c in [0.01, 1.0, 100.0] {
            let model = LogisticRegression.fit(x: x, labels: labels, columns: d, c: c)
            XCTAssertTrue(model.converged)
            var gw = model.weights, gb = 0.0
            for i in 0..<n {
                var z = model.bias
                for j in 0..<d { z += model.weights[j] * x[i * d + j] }
                let r = c * (1 / (1 + exp(-z)) - (labels[i] ? 1 : 0))
                for j in 0..<d { gw[j] += r * x[i * d + j] }
                gb += r
            }
            let scale = max(1, c * Double(n))
            XCTAssertLessThan(gw.map(abs).max()! / scale, 1e-9, "C = \(c)")
            XCTAssertLessThan(abs(gb) / scale, 1e-9, "C = \(c)")
            XCTAssertEqual(model, LogisticRegression.fit(x: x, labels: labels, columns: d, c: c))
        }
    }

    func testSeparableDataIsClassifiedAndWeightsStayFinite() {
        let x: [Double] = [0, 0, 0, 1, 1, 0, 3, 3, 3, 4, 4, 3]
        let labels = [false, false, false, true, true, true]
        let model = LogisticRegression.fit(x: x, labels: labels, columns: 2, c: 1)
        XCTAssertEqual(model.accuracy(x: x, labels: labels), 1)
        XCTAssertTrue(model.weights.allSatisfy(\.isFinite))
    }
}

final class DirectionAndSelectionTests: XCTestCase {
    func testMassMeanAndProjectionStdByHand() {
        // true rows (2, 0), (4, 0) → mean (3, 0); false rows (0, 1), (0, 3) → mean (0, 2).
        let x: [Double] = [2, 0, 4, 0, 0, 1, 0, 3]
        let theta = DirectionStatistics.massMean(x: x, labels: [true, true, false, false], columns: 2)
        XCTAssertEqual(theta[0], 3 / 13.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(theta[1], -2 / 13.0.squareRoot(), accuracy: 1e-12)
        // Projections on (1, 0): 2, 4, 0, 0 → mean 1.5, variance (0.25 + 6.25 + 2.25 + 2.25)/4.
        XCTAssertEqual(
            DirectionStatistics.projectionStd(x: x, direction: [1, 0], columns: 2),
            (11.0 / 4).squareRoot(), accuracy: 1e-12)
    }

    func testRandomHeadsAreDistinctSeededAndSorted() {
        let a = HeadSetSelection.randomHeads(48, in: ModelShape(layerCount: 30, headCount: 9), seed: 1)
        XCTAssertEqual(a.count, 48)
        XCTAssertEqual(Set(a).count, 48)
        XCTAssertEqual(a, a.sorted())
        XCTAssertTrue(a.allSatisfy { $0.layer < 30 && $0.head < 9 })
        XCTAssertEqual(a, HeadSetSelection.randomHeads(48, in: ModelShape(layerCount: 30, headCount: 9), seed: 1))
        XCTAssertNotEqual(a, HeadSetSelection.randomHeads(48, in: ModelShape(layerCount: 30, headCount: 9), seed: 2))
        XCTAssertEqual(HeadSetSelection.randomHeads(270, in: ModelShape(layerCount: 30, headCount: 9), seed: 4).count, 270)
    }

    func testLayerDisplacementConcatenatesHeads() {
        let edit = ITIEdit(
            alpha: 2,
            heads: [
                HeadShift(layer: 1, head: 0, direction: [1, 0], sigma: 0.5),
                HeadShift(layer: 1, head: 2, direction: [0.6, 0.8], sigma: 2),
                HeadShift(layer: 3, head: 1, direction: [0, 1], sigma: 1),
            ], headWidth: 2, directionKind: .massMean, selection: "test")
        XCTAssertEqual(edit.layers, [1, 3])
        XCTAssertEqual(edit.layerDisplacement(1, headCount: 3), [1, 0, 0, 0, 2.4, 3.2])
        XCTAssertEqual(edit.layerDisplacement(3, headCount: 3), [0, 0, 0, 2, 0, 0])
        XCTAssertEqual(edit.layerDisplacement(0, headCount: 3), [0, 0, 0, 0, 0, 0])
    }
}
