import LocusCore
import Foundation
import LocusInterventions
import LocusModel
import LocusSteering
import LocusTensor
import LocusTestSupport
import XCTest

/// Steering on the tiny random-weight llama (2 layers, 4 heads of width 16): gradients of the
/// preference loss with respect to the steering parameters against finite differences, the
/// losses and optimiser on hand-computed cases, NaN handling and the file round trip.
final class SteeringTests: XCTestCase {
    static let tiny = TestEnvironment.tinyLlamaURL

    let pairs = [
        TokenizedPair(prompt: [5, 17, 200], chosen: [33, 9], rejected: [250, 4, 8], group: 0),
        TokenizedPair(prompt: [77, 3, 140, 12], chosen: [60], rejected: [61, 90], group: 1),
    ]

    func model() throws -> DecoderModel {
        BLAS.setThreadCount(1)
        return try DecoderModel.load(from: Self.tiny)
    }

    func trainer(
        _ model: DecoderModel, _ kind: SteeringParameterization, positions: SteeringPositions,
        objective: PreferenceObjective = .ipo(tau: 0.2), normalized: Bool = false
    ) -> SteeringTrainer {
        let heads = [AttentionHead(layer: 0, head: 1), AttentionHead(layer: 1, head: 3), AttentionHead(layer: 1, head: 0)]
        let config = SteeringConfiguration(
            headSelection: "test", heads: heads, parameterization: kind, positions: positions,
            objective: objective, lengthNormalized: normalized, learningRate: 1e-2, batchSize: 2,
            gradientClipNorm: nil, seed: 3, residualLayer: kind == .residual ? 1 : nil)
        return SteeringTrainer(model: model, configuration: config)
    }

    /// Loss of the batch for given parameter values, without training.
    func loss(_ t: SteeringTrainer, values: [Float], reference: [PairLogProbabilities]) throws -> Double {
        let probe = SteeringTrainer(model: t.model, configuration: t.configuration, parameters: {
            var p = t.parameters
            p.values = values
            return p
        }())
        return try probe.evaluate(pairs, reference: reference).loss
    }

    func checkGradient(_ kind: SteeringParameterization, _ positions: SteeringPositions, _ objective: PreferenceObjective, normalized: Bool) throws {
        let model = try model()
        let t = trainer(model, kind, positions: positions, objective: objective, normalized: normalized)
        let reference = try t.logProbabilities(pairs, steered: false)
        // Move away from zero so every factor of the rank-one form has a gradient.
        var g = SeededGenerator(seed: 9)
        var start = t.parameters.values.map { _ in Float(g.nextNormal() * 0.3) }
        let analytic = try gradient(t, at: &start, reference: reference)
        let e: Float = 1e-2
        for i in Swift.stride(from: 0, to: start.count, by: 7) {
            var plus = start, minus = start
            plus[i] += e
            minus[i] -= e
            let numeric = (try loss(t, values: plus, reference: reference) - loss(t, values: minus, reference: reference)) / Double(2 * e)
            XCTAssertEqual(Double(analytic[i]), numeric, accuracy: 2e-3 + 2e-2 * abs(numeric), "\(kind) \(positions) θ[\(i)]")
        }
    }

    /// The gradient the trainer applies, recovered from one plain-SGD-like Adam step is not
    /// directly observable, so recompute it the way `step` does.
    func gradient(_ t: SteeringTrainer, at values: inout [Float], reference: [PairLogProbabilities]) throws -> [Float] {
        var p = t.parameters
        p.values = values
        let probe = SteeringTrainer(model: t.model, configuration: t.configuration, parameters: p)
        return try probe.lossGradient(pairs, reference: reference)
    }

    func testHeadVectorGradientMatchesFiniteDifferences() throws {
        try checkGradient(.headVectors, .all, .ipo(tau: 0.2), normalized: false)
        try checkGradient(.headVectors, .answer, .dpo(beta: 0.5), normalized: true)
    }

    func testRankOneGradientMatchesFiniteDifferences() throws {
        try checkGradient(.rankOne, .all, .ipo(tau: 0.2), normalized: false)
        try checkGradient(.rankOne, .prompt, .dpo(beta: 0.5), normalized: false)
    }

    /// The residual-stream vector (BiPO/CAA's form, added to resid_post of block 1 of 2): its
    /// gradient against central differences at every 7th of its 64 components, IPO with summed
    /// and DPO with length-normalised scores, at all positions and at the answer only.
    func testResidualGradientMatchesFiniteDifferences() throws {
        try checkGradient(.residual, .all, .ipo(tau: 0.2), normalized: false)
        try checkGradient(.residual, .answer, .dpo(beta: 0.5), normalized: true)
    }

    /// A residual edit at block 0 also reaches block 1 (it is added to the stream every later
    /// block reads), at block 1 only the final norm and unembedding: both change the logits, and
    /// training at block 0 raises the margin on its data.
    func testResidualEditAtAnEarlierBlockTrains() throws {
        let model = try model()
        let config = SteeringConfiguration(
            headSelection: "resid_post:0", heads: [], parameterization: .residual, positions: .all,
            objective: .ipo(tau: 0.5), learningRate: 5e-2, batchSize: 2, gradientClipNorm: nil, residualLayer: 0)
        let t = SteeringTrainer(model: model, configuration: config)
        XCTAssertEqual(t.parameters.values.count, model.config.hiddenSize)
        XCTAssertEqual(t.parameters.gradientSites, [.residualPost(layer: 0)])
        let reference = try t.logProbabilities(pairs, steered: false)
        XCTAssertEqual(try t.evaluate(pairs, reference: reference).margin, 0, accuracy: 1e-9)
        for s in 0..<30 { _ = try t.step(pairs, reference: reference, learningRate: 5e-2, stepIndex: s) }
        XCTAssertGreaterThan(try t.evaluate(pairs, reference: reference).margin, 0.3)
    }

    func testTrainingRaisesTheMarginOnItsData() throws {
        let model = try model()
        let t = trainer(model, .headVectors, positions: .all, objective: .ipo(tau: 0.5))
        let reference = try t.logProbabilities(pairs, steered: false)
        let before = try t.evaluate(pairs, reference: reference)
        XCTAssertEqual(before.margin, 0, accuracy: 1e-9, "a zero edit has margin exactly 0")
        for s in 0..<30 { _ = try t.step(pairs, reference: reference, learningRate: 5e-2, stepIndex: s) }
        let after = try t.evaluate(pairs, reference: reference)
        XCTAssertGreaterThan(after.margin, 0.3)
        XCTAssertLessThan(after.loss, before.loss)
    }

    func testNonFiniteLossStopsAndKeepsParameters() throws {
        let model = try model()
        let t = trainer(model, .headVectors, positions: .all)
        let reference = try t.logProbabilities(pairs, steered: false)
        _ = try t.step(pairs, reference: reference, learningRate: 1e-2, stepIndex: 0)
        let good = t.parameters
        let poisoned = reference.map { PairLogProbabilities(chosen: .nan, rejected: $0.rejected) }
        XCTAssertThrowsError(try t.step(pairs, reference: poisoned, learningRate: 1e-2, stepIndex: 1)) {
            guard case SteeringError.nonFinite(let step, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(step, 1)
            XCTAssertTrue("\($0)".contains("not finite"))
        }
        XCTAssertEqual(t.parameters, good)
    }

    func testSteeringFileRoundTripGivesIdenticalLogits() throws {
        let model = try model()
        for kind in SteeringParameterization.allCases {
            let t = trainer(model, kind, positions: .answer)
            var p = t.parameters
            var g = SeededGenerator(seed: 1)
            p.values = p.values.map { _ in Float(g.nextNormal()) }
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("steer-\(UUID()).safetensors")
            defer { try? FileManager.default.removeItem(at: url) }
            try SteeringFile(parameters: p, positions: .answer).write(to: url)
            let loaded = try SteeringFile.load(url)
            XCTAssertEqual(loaded.parameters, p)
            XCTAssertEqual(loaded.positions, .answer)
            let tokens = [5, 17, 200, 33, 9]
            let original = try model.forward([tokens], hooks: SteeringFile(parameters: p, positions: .answer).hooks(promptLengths: [3]), logits: .all)
            let a = Array(original.row(sequence: 0, position: 4))
            let reloaded = try model.forward([tokens], hooks: loaded.hooks(promptLengths: [3]), logits: .all)
            XCTAssertEqual(Array(reloaded.row(sequence: 0, position: 4)), a)
            let plain = try model.forward([tokens], logits: .all)
            XCTAssertNotEqual(Array(plain.row(sequence: 0, position: 4)), a, "the edit changes the logits")
            XCTAssertEqual(Array(plain.row(sequence: 0, position: 2)), Array(reloaded.row(sequence: 0, position: 2)),
                           "answer-position edits leave prompt positions untouched")
        }
    }

    /// scaled(by: 0) is the unedited model; scaled(by: 2) doubles the edit of z (head vectors:
    /// exactly 2v; rank-one: 2·⟨a, z⟩·b, since only b is scaled).
    func testScaledEditsInterpolateFromTheUneditedModel() throws {
        let model = try model()
        let tokens = [5, 17, 200, 33, 9]
        let plain = Array(try model.forward([tokens], logits: .all).row(sequence: 0, position: 4))
        for kind in SteeringParameterization.allCases {
            var p = trainer(model, kind, positions: .all).parameters
            var g = SeededGenerator(seed: 3)
            p.values = p.values.map { _ in Float(g.nextNormal()) }
            func logits(_ q: SteeringParameters) throws -> [Float] {
                Array(try model.forward([tokens], hooks: q.hooks(positions: .all), logits: .all).row(sequence: 0, position: 4))
            }
            XCTAssertEqual(try logits(p.scaled(by: 0)), plain, "\(kind)")
            XCTAssertNotEqual(try logits(p), plain)
            let site: ActivationSite = kind == .residual ? .residualPost(layer: p.layers[0]) : .headOutput(layer: p.layers[0])
            let recorder = ActivationRecorder(sites: [site], positions: .last)
            _ = try model.forward([tokens], hooks: p.scaled(by: 0).hooks(positions: .all) + [recorder], logits: .none)
            let z0 = recorder.vector(at: site, position: 4)!
            _ = try model.forward([tokens], hooks: p.hooks(positions: .all) + [recorder], logits: .none)
            let z1 = recorder.vector(at: site, position: 4)!
            _ = try model.forward([tokens], hooks: p.scaled(by: 2).hooks(positions: .all) + [recorder], logits: .none)
            let z2 = recorder.vector(at: site, position: 4)!
            for c in z0.indices { XCTAssertEqual(z2[c] - z0[c], 2 * (z1[c] - z0[c]), accuracy: 1e-4, "\(kind) column \(c)") }
        }
    }

    func testObjectivesOnHandComputedValues() {
        let ipo = PreferenceObjective.ipo(tau: 0.25)  // target margin 2
        XCTAssertEqual(ipo.loss(margin: 0.5).value, 2.25, accuracy: 1e-12)
        XCTAssertEqual(ipo.loss(margin: 0.5).derivative, -3, accuracy: 1e-12)
        let dpo = PreferenceObjective.dpo(beta: 0.1)
        XCTAssertEqual(dpo.loss(margin: 0).value, log(2), accuracy: 1e-12)
        XCTAssertEqual(dpo.loss(margin: 0).derivative, -0.05, accuracy: 1e-12)
        XCTAssertEqual(dpo.loss(margin: 20).value, log1p(exp(-2)), accuracy: 1e-12)
        XCTAssertEqual(dpo.loss(margin: -1e4).value, 1e3, accuracy: 1e-6, "stable for large margins")
    }

    func testAdamFirstStepAndCosineSchedule() {
        var adam = AdamW(parameterCount: 2)
        var theta: [Float] = [1, -1]
        adam.update(&theta, gradient: [0.5, -2], learningRate: 0.1)
        // First step: m̂ = g, v̂ = g², so θ moves by lr·sign(g) (up to ε).
        XCTAssertEqual(theta[0], 0.9, accuracy: 1e-6)
        XCTAssertEqual(theta[1], -0.9, accuracy: 1e-6)
        let s = CosineSchedule(baseRate: 1, totalSteps: 10)
        XCTAssertEqual(s.rate(at: 0), 1, accuracy: 1e-12)
        XCTAssertEqual(s.rate(at: 5), 0.5, accuracy: 1e-12)
        XCTAssertEqual(s.rate(at: 10), 0, accuracy: 1e-12)
        XCTAssertEqual(CosineSchedule(baseRate: 1, totalSteps: 10, warmupSteps: 2).rate(at: 0), 0.5, accuracy: 1e-12)
    }

    func testHeadSelectionParsing() throws {
        let config = try model().config
        XCTAssertEqual(try HeadSetSelection(parsing: "L1H3,L0H0").resolve(in: config),
                       [AttentionHead(layer: 0, head: 0), AttentionHead(layer: 1, head: 3)])
        XCTAssertEqual(try HeadSetSelection(parsing: "all").resolve(in: config).count, 8)
        let r1 = try HeadSetSelection(parsing: "random:3:42").resolve(in: config)
        XCTAssertEqual(r1, try HeadSetSelection(parsing: "random:3:42").resolve(in: config), "seeded")
        XCTAssertEqual(Set(r1).count, 3)
        XCTAssertThrowsError(try HeadSetSelection(parsing: "L2H0").resolve(in: config)) {
            XCTAssertTrue("\($0)".contains("does not exist"))
        }
        XCTAssertThrowsError(try HeadSetSelection(parsing: "L1X3"))
        XCTAssertThrowsError(try HeadSetSelection(parsing: "random:x:1"))
    }
}
