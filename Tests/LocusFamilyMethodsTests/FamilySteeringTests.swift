import Foundation
import LocusCore
import LocusInterventions
import LocusModel
import LocusSteering
import LocusTensor
import XCTest

/// IPO/DPO steering on GPT-2 and GPT-J: the preference loss's gradient with respect to head
/// vectors, the rank-one form and a residual vector against central differences, and a few
/// IPO steps that raise the margin with finite vectors.
final class FamilySteeringTests: XCTestCase {
    let pairs = [
        TokenizedPair(prompt: [5, 17, 200], chosen: [33, 9], rejected: [250, 4, 8], group: 0),
        TokenizedPair(prompt: [77, 3, 140, 12], chosen: [60], rejected: [61, 90], group: 1),
    ]
    let heads = [AttentionHead(layer: 0, head: 1), AttentionHead(layer: 1, head: 3), AttentionHead(layer: 1, head: 0)]

    func trainer(
        _ model: DecoderModel, _ kind: SteeringParameterization, positions: SteeringPositions,
        objective: PreferenceObjective, normalized: Bool = false, parameters: SteeringParameters? = nil
    ) -> SteeringTrainer {
        let config = SteeringConfiguration(
            headSelection: "test", heads: kind == .residual ? [] : heads, parameterization: kind,
            positions: positions, objective: objective, lengthNormalized: normalized, learningRate: 1e-2,
            batchSize: 2, gradientClipNorm: nil, seed: 3, residualLayer: kind == .residual ? 0 : nil)
        return SteeringTrainer(model: model, configuration: config, parameters: parameters)
    }

    func checkGradient(
        _ family: FamilyFixture, _ kind: SteeringParameterization, _ positions: SteeringPositions,
        _ objective: PreferenceObjective, normalized: Bool
    ) throws {
        let model = try family.languageModel().model
        let base = trainer(model, kind, positions: positions, objective: objective, normalized: normalized)
        let reference = try base.logProbabilities(pairs, steered: false)
        var g = SeededGenerator(seed: 9)
        let start = base.parameters.values.map { _ in Float(g.nextNormal() * 0.3) }
        func at(_ values: [Float]) -> SteeringTrainer {
            var p = base.parameters
            p.values = values
            return trainer(model, kind, positions: positions, objective: objective, normalized: normalized, parameters: p)
        }
        let analytic = try at(start).lossGradient(pairs, reference: reference)
        XCTAssertTrue(allFinite(analytic))
        let e: Float = 1e-2
        for i in Swift.stride(from: 0, to: start.count, by: 7) {
            var plus = start, minus = start
            plus[i] += e
            minus[i] -= e
            let numeric =
                (try at(plus).evaluate(pairs, reference: reference).loss
                    - at(minus).evaluate(pairs, reference: reference).loss) / Double(2 * e)
            XCTAssertEqual(
                Double(analytic[i]), numeric, accuracy: 2e-3 + 2e-2 * abs(numeric),
                "\(family) \(kind) \(positions) θ[\(i)]")
        }
    }

    func checkGradients(_ family: FamilyFixture) throws {
        try checkGradient(family, .headVectors, .all, .ipo(tau: 0.2), normalized: false)
        try checkGradient(family, .rankOne, .all, .ipo(tau: 0.2), normalized: false)
        try checkGradient(family, .residual, .answer, .dpo(beta: 0.5), normalized: true)
    }

    func testGradientsOnGPT2() throws { try checkGradients(.gpt2) }
    func testGradientsOnGPTJ() throws { try checkGradients(.gptj) }

    func checkTraining(_ family: FamilyFixture) throws {
        let model = try family.languageModel().model
        let before = WeightSnapshot(model)
        let t = trainer(model, .headVectors, positions: .all, objective: .ipo(tau: 0.5))
        let reference = try t.logProbabilities(pairs, steered: false)
        let start = try t.evaluate(pairs, reference: reference)
        XCTAssertEqual(start.margin, 0, accuracy: 1e-9, "a zero edit has margin exactly 0")
        for s in 0..<20 { _ = try t.step(pairs, reference: reference, learningRate: 5e-2, stepIndex: s) }
        let end = try t.evaluate(pairs, reference: reference)
        XCTAssertGreaterThan(end.margin, 0.1, "\(family)")
        XCTAssertLessThan(end.loss, start.loss, "\(family)")
        XCTAssertTrue(allFinite(t.parameters.values))
        XCTAssertGreaterThan(t.parameters.values.map(abs).max()!, 0)
        XCTAssertEqual(WeightSnapshot(model).differences(from: before), [], "steering edits activations, not weights")
    }

    func testTrainingOnGPT2() throws { try checkTraining(.gpt2) }
    func testTrainingOnGPTJ() throws { try checkTraining(.gptj) }
}
