import LocusCore
import Foundation
import LocusInterventions
import LocusModel
import LocusSteering
import LocusTensor
import LocusTestSupport
import XCTest

/// `PreferenceEvaluator` (`locus eval preferences`) on the tiny llama against the trainer's own
/// metrics and hand-computed log-prob comparisons.
final class PreferenceEvaluationTests: XCTestCase {
    let pairs = [
        TokenizedPair(prompt: [5, 17, 200], chosen: [33, 9], rejected: [250, 4, 8], group: 0),
        TokenizedPair(prompt: [77, 3, 140, 12], chosen: [60], rejected: [61, 90], group: 1),
        TokenizedPair(prompt: [8, 8], chosen: [1, 2, 3], rejected: [4], group: 2),
    ]

    func edit(_ kind: SteeringParameterization, model: DecoderModel) -> SteeringParameters {
        var p =
            kind == .residual
            ? SteeringParameters(residualLayer: 0, width: model.config.hiddenSize)
            : SteeringParameters(parameterization: kind, heads: [AttentionHead(layer: 1, head: 2)], headWidth: model.config.headWidth, seed: 1)
        var g = SeededGenerator(seed: 5)
        p.values = p.values.map { _ in Float(g.nextNormal() * 0.5) }
        return p
    }

    func testUneditedScoreHasZeroMarginAndTheReferenceAccuracy() throws {
        BLAS.setThreadCount(1)
        let model = try DecoderModel.load(from: TestEnvironment.tinyLlamaURL)
        let evaluator = PreferenceEvaluator(model: model, sharedPrefix: [], batchSize: 2)
        var passes: [PreferenceEvaluator.Pass] = []
        let score = try evaluator.score(pairs, edit: nil, objective: .ipo(tau: 0.25)) { pass, done, total in
            passes.append(pass)
            XCTAssertEqual(total, 3)
            XCTAssertLessThanOrEqual(done, total)
        }
        XCTAssertEqual(passes, [.reference, .reference], "one π₀ pass in two batches, nothing else")
        XCTAssertEqual(score.margin, 0)
        XCTAssertEqual(score.loss!, 4, accuracy: 1e-12, "IPO at h = 0 is (1/(2τ))² = 4")
        XCTAssertEqual(score.accuracy, score.referenceAccuracy)
        // Accuracy by hand: summed log-probs of each answer after its prompt.
        var correct = 0
        for pair in pairs {
            func logp(_ answer: [Int]) throws -> Double {
                let logits = try model.forward([pair.prompt + answer], logits: .all)
                var sum = 0.0
                for (i, token) in answer.enumerated() {
                    let row = logits.row(sequence: 0, position: pair.prompt.count - 1 + i)
                    let lse = LogSoftmax.logSumExp(row.baseAddress!, count: row.count)
                    sum += Double(row[token] - lse)
                }
                return sum
            }
            if try logp(pair.chosen) > logp(pair.rejected) { correct += 1 }
        }
        XCTAssertEqual(score.accuracy, Double(correct) / 3)
        XCTAssertNil(try evaluator.score(pairs, edit: nil, objective: nil).loss)
    }

    func testEditedScoreMatchesTheTrainersMetricsAndScaleZeroIsUnedited() throws {
        BLAS.setThreadCount(1)
        let model = try DecoderModel.load(from: TestEnvironment.tinyLlamaURL)
        for kind in SteeringParameterization.allCases {
            let p = edit(kind, model: model)
            let evaluator = PreferenceEvaluator(model: model, sharedPrefix: [], lengthNormalized: true, batchSize: 2)
            let score = try evaluator.score(pairs, edit: p, positions: .answer, objective: .dpo(beta: 0.5))
            let config = SteeringConfiguration(
                headSelection: "t", heads: p.heads, parameterization: kind, positions: .answer, objective: .dpo(beta: 0.5),
                lengthNormalized: true, batchSize: 3, residualLayer: p.residualLayer)
            let trainer = SteeringTrainer(model: model, configuration: config, parameters: p)
            let metrics = try trainer.evaluate(pairs, reference: try trainer.logProbabilities(pairs, steered: false))
            XCTAssertEqual(score.margin, metrics.margin, accuracy: 1e-5, "\(kind)")
            XCTAssertEqual(score.loss!, metrics.loss, accuracy: 1e-5, "\(kind)")
            XCTAssertEqual(score.accuracy, metrics.accuracy, "\(kind)")
            XCTAssertNotEqual(score.margin, 0, "\(kind): the edit moves the log-probs")
            let zero = try evaluator.score(pairs, edit: p.scaled(by: 0), positions: .answer, objective: .dpo(beta: 0.5))
            XCTAssertEqual(zero.margin, 0, accuracy: 1e-9, "\(kind)")
        }
    }

    func testEmptyAnswersAndEmptySetsAreErrors() throws {
        let model = try DecoderModel.load(from: TestEnvironment.tinyLlamaURL)
        let evaluator = PreferenceEvaluator(model: model, sharedPrefix: [1, 2])
        XCTAssertThrowsError(try evaluator.score([], edit: nil, objective: nil))
        let bad = [TokenizedPair(prompt: [3], chosen: [], rejected: [4], group: 0)]
        XCTAssertThrowsError(try evaluator.score(bad, edit: nil, objective: nil)) { XCTAssertTrue("\($0)".contains("pair 0 has an empty answer")) }
        let noPrompt = [TokenizedPair(prompt: [], chosen: [5], rejected: [4], group: 0)]
        XCTAssertThrowsError(try evaluator.score(noPrompt, edit: nil, objective: nil)) { XCTAssertTrue("\($0)".contains("empty prompt")) }
    }
}
