// Position selection and the basic hooks on hand-built packed batches (no model needed): the
// rows they touch, what they write, and the gradient replacement passes back.

import LocusModel
import XCTest

@testable import LocusInterventions

final class HookTests: XCTestCase {
    /// Two sequences packed in one call: sequence 0 has 4 new rows at positions 0–3, sequence 1
    /// has 3 new rows at positions 5–7 (5 tokens already in its KV cache).
    let spans = [
        SequenceSpan(rowStart: 0, rowCount: 4, firstPosition: 0),
        SequenceSpan(rowStart: 4, rowCount: 3, firstPosition: 5),
    ]

    func testPositionRows() {
        XCTAssertEqual(Positions.all.rows(of: spans[1], sequence: 1), [4, 5, 6])
        XCTAssertEqual(Positions.last.rows(of: spans[0], sequence: 0), [3])
        XCTAssertEqual(Positions.last.rows(of: spans[1], sequence: 1), [6])
        // Absolute positions: 2 is in sequence 0's call, 6 in sequence 1's; 9 is in neither.
        XCTAssertEqual(Positions.indices([2, 6, 9]).rows(of: spans[0], sequence: 0), [2])
        XCTAssertEqual(Positions.indices([2, 6, 9]).rows(of: spans[1], sequence: 1), [5])
        // from: per-sequence starts; a start inside the cache begins at the first new row.
        XCTAssertEqual(Positions.from([2, 3]).rows(of: spans[0], sequence: 0), [2, 3])
        XCTAssertEqual(Positions.from([2, 3]).rows(of: spans[1], sequence: 1), [4, 5, 6])
        XCTAssertEqual(Positions.from([4, 8]).rows(of: spans[1], sequence: 1), [])
        // before: positions 0..<bound.
        XCTAssertEqual(Positions.before([2, 7]).rows(of: spans[0], sequence: 0), [0, 1])
        XCTAssertEqual(Positions.before([2, 7]).rows(of: spans[1], sequence: 1), [4, 5])
        XCTAssertEqual(Positions.before([2, 5]).rows(of: spans[1], sequence: 1), [])
    }

    /// Runs `body` on a 7-row batch of width 3 whose entry (r, c) is 10r + c.
    func withBatch(_ body: (ActivationBatch) -> Void) -> [Float] {
        var values = (0..<7).flatMap { r in (0..<3).map { Float(10 * r + $0) } }
        values.withUnsafeMutableBufferPointer { buffer in
            body(ActivationBatch(site: .mlpOut(layer: 2), values: buffer.baseAddress!, width: 3, sequences: spans))
        }
        return values
    }

    func testVectorAdditionTouchesOnlyTheChosenRowsAndColumns() {
        let original = withBatch { _ in }
        let hook = VectorAddition(site: .mlpOut(layer: 2), columnStart: 1, vector: [100, 200], positions: .last)
        let edited = withBatch(hook.visit)
        for r in 0..<7 {
            for c in 0..<3 {
                let added: Float = (r == 3 || r == 6) && c > 0 ? (c == 1 ? 100 : 200) : 0
                XCTAssertEqual(edited[r * 3 + c], original[r * 3 + c] + added, "row \(r) column \(c)")
            }
        }
    }

    func testRecorderCopiesRowsWithTheirAbsolutePositions() {
        let recorder = ActivationRecorder(sites: [.mlpOut(layer: 2)], positions: .from([3, 6]))
        let after = withBatch(recorder.visit)
        XCTAssertEqual(after, withBatch { _ in }, "recording writes nothing")
        XCTAssertEqual(recorder.recordedPositions[.mlpOut(layer: 2)], [[3], [6, 7]])
        XCTAssertEqual(recorder.recorded[.mlpOut(layer: 2)], [[30, 31, 32], [50, 51, 52, 60, 61, 62]])
        XCTAssertEqual(recorder.vector(at: .mlpOut(layer: 2), sequence: 1, position: 7), [60, 61, 62])
        XCTAssertNil(recorder.vector(at: .mlpOut(layer: 2), sequence: 1, position: 5))
        XCTAssertNil(recorder.vector(at: .mlpOut(layer: 1), sequence: 0, position: 3))
    }

    func testReplacementWritesStoredRowsAndBlocksTheirGradient() {
        let replacement = ActivationReplacement(
            site: .mlpOut(layer: 2), positions: .last, replacement: [[-1, -2, -3], [-4, -5, -6]])
        let replaced = withBatch(replacement.visit)
        let original = withBatch { _ in }
        for r in 0..<7 where r != 3 && r != 6 {
            XCTAssertEqual(Array(replaced[(r * 3)..<(r * 3 + 3)]), Array(original[(r * 3)..<(r * 3 + 3)]))
        }
        XCTAssertEqual(Array(replaced[9..<12]), [-1, -2, -3])
        XCTAssertEqual(Array(replaced[18..<21]), [-4, -5, -6])

        // d(output)/d(input) is 0 on replaced rows and the identity elsewhere.
        let gradient = withBatch(replacement.backpropagate)
        for r in 0..<7 {
            for c in 0..<3 {
                XCTAssertEqual(gradient[r * 3 + c], r == 3 || r == 6 ? 0 : original[r * 3 + c])
            }
        }
    }
}
