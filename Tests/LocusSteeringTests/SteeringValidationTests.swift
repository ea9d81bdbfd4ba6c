import LocusCore
import Foundation
import LocusCheckpoint
import LocusInterventions
import LocusModel
import LocusSteering
import LocusTensor
import LocusTestSupport
import XCTest

/// Issue 10: a steering file is checked (metadata before allocation, then against the model)
/// before any hook touches a buffer, and training never keeps parameters that are not finite.
final class SteeringValidationTests: XCTestCase {
    let pairs = [
        TokenizedPair(prompt: [5, 17, 200], chosen: [33, 9], rejected: [250, 4, 8], group: 0),
        TokenizedPair(prompt: [77, 3, 140, 12], chosen: [60], rejected: [61, 90], group: 1),
    ]

    func scratch(_ name: String) throws -> URL {
        try TestEnvironment.temporaryDirectory("steering-validation").appendingPathComponent(name)
    }

    /// A steering file written by hand, so its metadata can lie.
    func handWritten(
        _ name: String, headWidth: String, heads: String = "L0H1", tensors: [SafetensorsWriter.Tensor]
    ) throws -> URL {
        let url = try scratch(name)
        try SafetensorsWriter.write(
            tensors,
            metadata: [
                "format": SteeringFile.format, "parameterization": "head-vectors", "positions": "all",
                "heads": heads, "head_width": headWidth,
            ], to: url)
        return url
    }

    func assertThrows(_ body: @autoclosure () throws -> Any, mentioning parts: [String], line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            for part in parts { XCTAssertTrue("\(error)".contains(part), "\(error) lacks '\(part)'", line: line) }
        }
    }

    func testAbsurdOrNegativeDeclaredWidthIsRejectedBeforeAllocation() throws {
        let v = SafetensorsWriter.Tensor(name: "L0H1.vector", shape: [4], values: [1, 2, 3, 4])
        for width in ["1099511627776", "-16", "0", "sixteen"] {
            let url = try handWritten("w\(width).safetensors", headWidth: width, tensors: [v])
            assertThrows(try SteeringFile.load(url), mentioning: [url.lastPathComponent, "head_width '\(width)'"])
        }
        // A width that fits the rule but not the tensors: the tensor's shape is named.
        let url = try handWritten("w8.safetensors", headWidth: "8", tensors: [v])
        assertThrows(try SteeringFile.load(url), mentioning: ["w8.safetensors", "L0H1.vector", "[8]"])
    }

    func testMissingDuplicateAndNonFiniteEntriesAreErrors() throws {
        let v = SafetensorsWriter.Tensor(name: "L0H1.vector", shape: [4], values: [1, 2, 3, 4])
        assertThrows(
            try SteeringFile.load(try handWritten("miss.safetensors", headWidth: "4", heads: "L0H1,L1H0", tensors: [v])),
            mentioning: ["miss.safetensors", "L1H0.vector"])
        assertThrows(
            try SteeringFile.load(try handWritten("dup.safetensors", headWidth: "4", heads: "L0H1,L0H1", tensors: [v])),
            mentioning: ["dup.safetensors", "twice"])
        let nan = SafetensorsWriter.Tensor(name: "L0H1.vector", shape: [4], values: [1, .nan, 3, 4])
        assertThrows(
            try SteeringFile.load(try handWritten("nan.safetensors", headWidth: "4", tensors: [nan])),
            mentioning: ["nan.safetensors", "NaN"])
    }

    /// A file made for another model (other head width, or heads it does not have) is refused
    /// with the file's name, instead of writing past a row.
    func testFileIsCheckedAgainstTheModel() throws {
        let model = try TestEnvironment.tinyLlama()
        let config = model.config  // 2 layers × 4 heads of width 16
        var p = SteeringParameters(parameterization: .headVectors, heads: [AttentionHead(layer: 1, head: 3)], headWidth: 16, seed: 0)
        p.values = (0..<16).map { Float($0) }
        let fits = try scratch("fits.safetensors")
        try SteeringFile(parameters: p, positions: .all).write(to: fits)
        XCTAssertEqual(try SteeringFile.load(fits, for: config).parameters, p)

        var wider = config
        wider.hiddenSize = 128  // head width 32
        assertThrows(try SteeringFile.load(fits, for: wider), mentioning: ["fits.safetensors", "head width 16", "32"])

        for head in [AttentionHead(layer: 99, head: 0), AttentionHead(layer: 0, head: 50)] {
            var q = p
            q.heads = [head]
            let url = try scratch("\(head).safetensors")
            try SteeringFile(parameters: q, positions: .all).write(to: url)
            assertThrows(try SteeringFile.load(url, for: config), mentioning: [url.lastPathComponent, "\(head) does not exist"])
        }
    }

    func testHeadsAModelDoesNotHaveAreRejectedByHeadSelection() throws {
        let config = try TestEnvironment.tinyLlama().config
        for text in ["L99H99", "L0H50", "L0H1,L2H0"] {
            XCTAssertThrowsError(try HeadSetSelection(parsing: text).resolve(in: config), text) {
                XCTAssertTrue("\($0)".contains("does not exist"), "\($0)")
            }
        }
        XCTAssertThrowsError(try HeadSetSelection(parsing: "L-1H0"))
        XCTAssertThrowsError(try HeadSetSelection(parsing: "L99999999999999999999999H0"))
    }

    func trainer(_ model: DecoderModel, lr: Double) -> SteeringTrainer {
        let config = SteeringConfiguration(
            headSelection: "L0H1,L1H2", heads: [AttentionHead(layer: 0, head: 1), AttentionHead(layer: 1, head: 2)],
            learningRate: lr, epochs: 3, batchSize: 2, gradientClipNorm: nil, seed: 1)
        return SteeringTrainer(model: model, configuration: config)
    }

    func testEmptyValidationSplitIsAnError() throws {
        let t = trainer(try TestEnvironment.tinyLlama(), lr: 1e-2)
        XCTAssertThrowsError(try t.initialState(train: pairs, validation: [])) {
            guard case SteeringError.noValidationPairs = $0 else { return XCTFail("\($0)") }
        }
    }

    /// The largest finite parameters overflow the forward pass (finite θ, NaN log-probs): the check used
    /// before saving says so, and ordinary parameters pass it.
    func testFiniteLogProbabilityCheck() throws {
        let t = trainer(try TestEnvironment.tinyLlama(), lr: 1e-2)
        XCTAssertTrue(try t.givesFiniteLogProbabilities(t.parameters, on: pairs))
        var huge = t.parameters
        huge.values = huge.values.map { _ in .greatestFiniteMagnitude }
        XCTAssertFalse(try t.givesFiniteLogProbabilities(huge, on: pairs))
        var nan = t.parameters
        nan.values[3] = .nan
        XCTAssertFalse(try t.givesFiniteLogProbabilities(nan, on: pairs))
        XCTAssertEqual(t.parameters.values.allSatisfy { $0 == 0 }, true, "the check leaves the trainer's parameters alone")
    }

    /// Training with an absurd learning rate stops (`diverged` or `nonFinite`); the parameters it offers
    /// to keep (`lastFiniteParameters`) give finite log-probs — never the update that overflowed.
    func testDivergingTrainingStopsAndOffersOnlyFiniteParameters() throws {
        let model = try TestEnvironment.tinyLlama()
        for lr in [1e9, 1e30, 1e38] {
            let t = trainer(model, lr: lr)
            let state = try t.initialState(train: pairs, validation: pairs)
            XCTAssertThrowsError(try t.train(from: state, train: pairs, validation: pairs), "lr \(lr)") {
                switch $0 {
                case SteeringError.nonFinite, SteeringError.diverged: break
                default: XCTFail("\($0)")
                }
            }
            if let good = t.lastFiniteParameters {
                XCTAssertTrue(try t.givesFiniteLogProbabilities(good, on: pairs), "lr \(lr)")
            }
        }
    }
}

extension SteeringValidationTests {
    /// An ordinary learning rate stays far below the divergence bound on the same data.
    func testOrdinaryTrainingStaysBelowTheDivergenceBound() throws {
        let t = trainer(try TestEnvironment.tinyLlama(), lr: 5e-2)
        let state = try t.initialState(train: pairs, validation: pairs)
        let done = try t.train(from: state, train: pairs, validation: pairs)
        XCTAssertEqual(done.completedEpochs, 3)
        XCTAssertLessThan(done.parameters.values.map(abs).max()!, SteeringTrainer.maximumMagnitude)
    }
}
