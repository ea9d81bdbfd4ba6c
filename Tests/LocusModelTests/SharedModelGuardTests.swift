import LocusModel
import LocusTestSupport
import XCTest

/// The guard that keeps the shared SmolLM2 instance from leaking one test's edits into another:
/// its fingerprint sees a single changed weight bit anywhere, and only a change.
final class SharedModelGuardTests: XCTestCase {
    func testFingerprintSeesOneChangedWeightAndItsRestoration() throws {
        let model = try TestEnvironment.tinyLlama()
        let clean = TestEnvironment.weightFingerprint(model)
        XCTAssertEqual(TestEnvironment.weightFingerprint(try TestEnvironment.tinyLlama()), clean)
        let buffers = [model.weights.embedding, model.weights.layers[1].down, model.weights.finalNorm]
        for buffer in buffers {
            for index in [0, buffer.count / 2, buffer.count - 1] {
                let old = buffer.pointer[index]
                buffer.pointer[index] = Float(bitPattern: old.bitPattern ^ 1)  // last mantissa bit
                XCTAssertNotEqual(TestEnvironment.weightFingerprint(model), clean, "element \(index)")
                buffer.pointer[index] = old
                XCTAssertEqual(TestEnvironment.weightFingerprint(model), clean)
            }
        }
    }
}
