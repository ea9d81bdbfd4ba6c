import LocusCore
import Foundation
import LocusData
import LocusInterventions
@testable import LocusModel
@testable import LocusSteering
import LocusTensor
import LocusTestSupport
import XCTest

/// Issue 14 (throughput): less arithmetic per steering step, the same numbers.
///
/// 1. The backward stops at the steering vectors' lowest site (z of the lowest steered layer)
///    instead of running that layer's attention backward and W_qkvᵀ product down to resid_pre.
///    The skipped work feeds no requested gradient, so the loss and the gradient must be
///    *identical* (tolerance 0: the kept operations are the same, in the same order) to the
///    full-layer backward (`ForwardTape.stopsBelowLowestSite = false`, the path before).
/// 2. Each pair's prompt runs once and both answers continue it in the same pass
///    (`SteeringTrainer.sharesPairPrompts`) instead of prompt + answer twice. The GEMMs see other
///    row counts, so equality is up to fp32 rounding: log-probs (sums of ≤ 12 terms of order 1–10)
///    within 1e-4 absolute, each gradient component within 1e-4·max|g| + 1e-6 (the existing
///    cached-prefix test allows 1e-3·max|g|; rounding differences measured here are ~1e-6·max|g|,
///    and a missing term — e.g. the answers' gradient not reaching the prompt rows — changes
///    components by O(10%)).
/// Checked on the tiny llama (2 layers, MC prefix cached, every position rule) and on the real
/// SmolLM2 checkpoint with `locus bench steer`'s layout (bare prompts, all positions, random heads).
final class SteeringThroughputTests: XCTestCase {
    let prompt = TruthfulQAPrompt(instruction: "Be true.", primer: "Q: Sky?\nA: Blue.")

    func pairs(_ lm: LanguageModel) -> [TokenizedPair] {
        let tqa = TruthfulQA(questions: [
            TruthfulQAQuestion(
                id: 0, type: "t", category: "c", question: "Cats fly?", bestAnswer: "No",
                correctAnswers: ["No", "Never"], incorrectAnswers: ["Yes"], source: "s"),
            TruthfulQAQuestion(
                id: 1, type: "t", category: "c", question: "2+2?", bestAnswer: "4",
                correctAnswers: ["4"], incorrectAnswers: ["5", "22"], source: "s"),
        ])
        return tqa.preferencePairs(questionIDs: [0, 1], prompt: prompt).map { TokenizedPair($0, tokenizer: lm.tokenizer) }
    }

    /// Loss and gradient with the truncated and the full backward, same trainer state.
    func bothPaths(
        _ trainer: SteeringTrainer, _ pairs: [TokenizedPair], reference: [PairLogProbabilities]
    ) throws -> (truncated: (loss: Double, gradient: [Float]), full: (loss: Double, gradient: [Float])) {
        trainer.tape.stopsBelowLowestSite = true
        let a = try trainer.lossAndGradient(pairs, reference: reference)
        trainer.tape.stopsBelowLowestSite = false
        defer { trainer.tape.stopsBelowLowestSite = true }
        let b = try trainer.lossAndGradient(pairs, reference: reference)
        return ((a.loss, a.gradient), (b.loss, b.gradient))
    }

    func testTruncatedBackwardEqualsFullLayerBackwardOnTinyLlama() throws {
        let lm = try TestEnvironment.tinyLanguageModel()
        let heads = [AttentionHead(layer: 1, head: 0), AttentionHead(layer: 1, head: 3)]
        let config = SteeringConfiguration(
            headSelection: "test", heads: heads, promptTemplate: .truthfulQA, positions: .afterPrefix,
            objective: .ipo(tau: 0.2), batchSize: 2, gradientClipNorm: nil, seed: 3)
        var parameters = SteeringParameters(parameterization: .headVectors, heads: heads, headWidth: 16, seed: 0)
        var g = SeededGenerator(seed: 5)
        parameters.values = parameters.values.map { _ in Float(g.nextNormal() * 0.5) }
        let trainer = SteeringTrainer(
            model: lm.model, configuration: config, parameters: parameters,
            sharedPrefix: lm.tokenizer.encode(prompt.sharedPrefix))
        let pairs = pairs(lm)
        let reference = try trainer.logProbabilities(pairs, steered: false)
        let (truncated, full) = try bothPaths(trainer, pairs, reference: reference)
        XCTAssertGreaterThan(full.gradient.map(abs).max()!, 1e-4, "a gradient that can differ")
        XCTAssertEqual(truncated.loss, full.loss)
        XCTAssertEqual(truncated.gradient, full.gradient)
    }

    /// On the real checkpoint with the benchmark's layout (`locus bench steer`: bare prompts,
    /// every position edited), heads from layer 4 up (the stop skips layer 4's attention backward
    /// and layers 0–3 are never visited): the same identity.
    func testTruncatedBackwardEqualsFullLayerBackwardOnSmolLM2() throws {
        let model = try TestEnvironment.smolLM().model
        let heads = [
            AttentionHead(layer: 4, head: 2), AttentionHead(layer: 9, head: 7), AttentionHead(layer: 9, head: 0),
            AttentionHead(layer: 21, head: 5),
        ]
        let config = SteeringConfiguration(
            headSelection: "L4H2,L9H7,L9H0,L21H5", heads: heads, positions: .all, objective: .ipo(tau: 0.1),
            batchSize: 2, gradientClipNorm: nil)
        var parameters = SteeringParameters(parameterization: .headVectors, heads: heads, headWidth: 64, seed: 0)
        var g = SeededGenerator(seed: 9)
        parameters.values = parameters.values.map { _ in Float(g.nextNormal() * 0.2) }
        let trainer = SteeringTrainer(model: model, configuration: config, parameters: parameters)
        var ids = SeededGenerator(seed: 1)
        let v = UInt64(model.config.vocabularySize)
        let random = { (n: Int) in (0..<n).map { _ in Int(ids.next() % v) } }
        let pairs = (0..<2).map { TokenizedPair(prompt: random(10), chosen: random(5), rejected: random(4), group: $0) }
        let reference = try SteeringTrainer(model: model, configuration: config).logProbabilities(pairs, steered: false)
        let (truncated, full) = try bothPaths(trainer, pairs, reference: reference)
        XCTAssertGreaterThan(full.gradient.map(abs).max()!, 1e-4)
        XCTAssertEqual(truncated.loss, full.loss)
        XCTAssertEqual(truncated.gradient, full.gradient)
    }

    func trainer(_ lm: LanguageModel, positions: SteeringPositions, lengthNormalized: Bool = false) -> SteeringTrainer {
        let heads = [AttentionHead(layer: 0, head: 1), AttentionHead(layer: 1, head: 3)]
        let config = SteeringConfiguration(
            headSelection: "test", heads: heads, promptTemplate: .truthfulQA, positions: positions,
            objective: .ipo(tau: 0.2), lengthNormalized: lengthNormalized, batchSize: 3,
            gradientClipNorm: nil, seed: 3)
        var parameters = SteeringParameters(parameterization: .headVectors, heads: heads, headWidth: 16, seed: 0)
        var g = SeededGenerator(seed: 13)
        parameters.values = parameters.values.map { _ in Float(g.nextNormal() * 0.5) }
        return SteeringTrainer(
            model: lm.model, configuration: config, parameters: parameters,
            sharedPrefix: lm.tokenizer.encode(prompt.sharedPrefix))
    }

    func assertSharedPromptsChangeNothing(
        _ make: () -> SteeringTrainer, _ pairs: [TokenizedPair], _ label: String
    ) throws {
        let shared = make(), separate = make()
        separate.sharesPairPrompts = false
        XCTAssertTrue(shared.sharesPairPrompts, "the default")
        let reference = try separate.logProbabilities(pairs, steered: false)
        let referenceShared = try shared.logProbabilities(pairs, steered: false)
        let steered = try separate.logProbabilities(pairs, steered: true)
        let steeredShared = try shared.logProbabilities(pairs, steered: true)
        for i in pairs.indices {
            XCTAssertEqual(referenceShared[i].chosen, reference[i].chosen, accuracy: 1e-4, label)
            XCTAssertEqual(referenceShared[i].rejected, reference[i].rejected, accuracy: 1e-4, label)
            XCTAssertEqual(steeredShared[i].chosen, steered[i].chosen, accuracy: 1e-4, label)
            XCTAssertEqual(steeredShared[i].rejected, steered[i].rejected, accuracy: 1e-4, label)
        }
        let a = try shared.lossAndGradient(pairs, reference: reference)
        let b = try separate.lossAndGradient(pairs, reference: reference)
        XCTAssertEqual(a.loss, b.loss, accuracy: 1e-5 * max(1, abs(b.loss)), label)
        XCTAssertEqual(a.margin, b.margin, accuracy: 1e-4, label)
        let scale = b.gradient.map(abs).max()!
        XCTAssertGreaterThan(scale, 1e-4, "\(label): a gradient that can differ")
        for (i, (x, y)) in zip(a.gradient, b.gradient).enumerated() {
            XCTAssertEqual(x, y, accuracy: 1e-4 * scale + 1e-6, "\(label) θ[\(i)]")
        }
    }

    func testSharedPairPromptsGiveTheSameLogProbsLossAndGradient() throws {
        let lm = try TestEnvironment.tinyLanguageModel()
        var pairs = pairs(lm)
        // A one-token answer: predicted at the prompt's last row only (no continuing sequence).
        pairs.append(TokenizedPair(prompt: pairs[0].prompt, chosen: [78], rejected: [89, 101, 115], group: 2))
        for positions in SteeringPositions.allCases {
            try assertSharedPromptsChangeNothing({ trainer(lm, positions: positions) }, pairs, "\(positions)")
        }
        try assertSharedPromptsChangeNothing(
            { trainer(lm, positions: .afterPrefix, lengthNormalized: true) }, pairs, "length-normalised")
        try assertSharedPromptsChangeNothing(
            {
                let t = trainer(lm, positions: .afterPrefix)
                t.reusesPrefixCache = false
                return t
            }, pairs, "prefix not cached")
    }

    func testSharedPairPromptsOnSmolLM2WithTheBenchmarkLayout() throws {
        let model = try TestEnvironment.smolLM().model
        let heads = try HeadSetSelection.random(count: 16, seed: 0).resolve(in: model.config)
        var ids = SeededGenerator(seed: 0)
        let v = UInt64(model.config.vocabularySize)
        let random = { (n: Int) in (0..<n).map { _ in Int(ids.next() % v) } }
        let pairs = (0..<2).map { TokenizedPair(prompt: random(12), chosen: random(6), rejected: random(5), group: $0) }
        try assertSharedPromptsChangeNothing(
            {
                let config = SteeringConfiguration(
                    headSelection: "random:16:0", heads: heads, objective: .ipo(tau: 0.1), batchSize: 2,
                    gradientClipNorm: nil)
                var parameters = SteeringParameters(
                    parameterization: .headVectors, heads: heads, headWidth: 64, seed: 0)
                var g = SeededGenerator(seed: 9)
                parameters.values = parameters.values.map { _ in Float(g.nextNormal() * 0.2) }
                return SteeringTrainer(model: model, configuration: config, parameters: parameters)
            }, pairs, "SmolLM2")
    }

    func testContinuingSequenceMustFollowItsSource() throws {
        let model = try TestEnvironment.tinyLlama()
        let tape = ForwardTape()
        XCTAssertThrowsError(
            try model.forwardForTraining(
                [[1, 2], [3, 4]], targets: [TokenTarget(sequence: 0, position: 1, token: 5)], tape: tape,
                continuing: [1, nil]))
        XCTAssertThrowsError(
            try model.forwardForTraining(
                [[1, 2], [3], [4]], targets: [TokenTarget(sequence: 0, position: 1, token: 5)], tape: tape,
                continuing: [nil, 0, 1]), "a continuation of a continuation")
        // Positions of a continuing sequence follow its source's tokens.
        let lp = try model.forwardForTraining(
            [[1, 2], [3, 4]], targets: [TokenTarget(sequence: 1, position: 3, token: 5)], tape: tape,
            continuing: [nil, 0])
        let whole = try model.forwardForTraining(
            [[1, 2, 3, 4]], targets: [TokenTarget(sequence: 0, position: 3, token: 5)], tape: ForwardTape())
        XCTAssertEqual(lp[0], whole[0], accuracy: 1e-5)
    }
}
