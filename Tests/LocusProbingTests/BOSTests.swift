import Foundation
import LocusModel
import LocusProbing
import LocusTestSupport
import XCTest

/// A checkpoint whose tokenizer config adds BOS gets it at position 0 of every probe sample.
final class ProbeBOSTests: XCTestCase {
    func activations(_ lm: LanguageModel, _ samples: [ProbeSample]) throws -> [[Float]] {
        let collected = try HeadActivationCollector(model: lm, tokensPerBatch: 64).collect(
            samples, format: .iti, modelFile: "tiny", modelSHA256: "test")
        return (0..<lm.config.layerCount).map { l in collected.withLayer(l) { Array($0) } }
    }

    func testProbeSamplesStartWithBOS() throws {
        let texts = ["Q: Is the sky blue? A: Yes.", "Q: Why? A: Rayleigh scattering."]
        let samples = texts.enumerated().map {
            ProbeSample(questionID: $0.offset, choice: 0, label: $0.offset == 0, text: $0.element)
        }
        let withBOS = try TestEnvironment.tinyLanguageModel(addingBOS: true)
        let collected = try HeadActivationCollector(model: withBOS).collect(
            samples, format: .iti, modelFile: "tiny", modelSHA256: "test")
        XCTAssertTrue(collected.header.bos)
        // The same as a tokenizer without BOS reading the BOS byte written into the text.
        let plain = try TestEnvironment.tinyLanguageModel(addingBOS: false)
        let explicit = samples.map {
            ProbeSample(questionID: $0.questionID, choice: 0, label: $0.label,
                        text: String(UnicodeScalar(UInt8(TestEnvironment.tinyBOS))) + $0.text)
        }
        let expected = try activations(plain, explicit)
        XCTAssertEqual(try activations(withBOS, samples), expected)
        XCTAssertNotEqual(try activations(plain, samples), expected)
    }
}
