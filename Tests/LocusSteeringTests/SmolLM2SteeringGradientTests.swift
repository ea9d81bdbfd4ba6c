import LocusCore
import Foundation
import LocusInterventions
import LocusModel
import LocusSteering
import LocusTensor
import LocusTestSupport
import XCTest

/// The steering gradient on the real SmolLM2 checkpoint against PyTorch autograd
/// (`scripts/reference/make_steering_fixture.py`): ∂ IPO loss / ∂ per-head vectors at four
/// heads in three layers, two TruthfulQA pairs, all positions.
///
/// Tolerance: each component within 1e-3·max|g| + 1e-4. Both sides are fp32 with different
/// summation orders; the logits agree to ~1e-4 (see SmolLM2ParityTests), and the gradient is a
/// sum over ~60 tokens of products of such quantities, so relative errors of ~1e-4 of its
/// largest component are expected; 1e-3 leaves a 10× margin while still catching any wrong term
/// (a missing factor or transposition changes components by O(100%)).
final class SmolLM2SteeringGradientTests: XCTestCase {
    func testIPOGradientMatchesPyTorchAutograd() throws {
        let model = try TestEnvironment.smolLM().model  // one BLAS thread, loaded once
        let fixtureURL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("smollm2_steering_gradient.json")
        let fixture = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtureURL)) as! [String: Any]
        let heads = (fixture["heads"] as! [[String: Int]]).map { AttentionHead(layer: $0["layer"]!, head: $0["head"]!) }
        let vectors = (fixture["vectors"] as! [[Double]]).map { $0.map(Float.init) }
        let pairs = (fixture["pairs"] as! [[String: [Int]]]).enumerated().map {
            TokenizedPair(prompt: $1["prompt"]!, chosen: $1["chosen"]!, rejected: $1["rejected"]!, group: $0)
        }
        let expected = (fixture["gradient"] as! [[Double]])
        let config = SteeringConfiguration(
            headSelection: "fixture", heads: heads, parameterization: .headVectors, positions: .all,
            objective: .ipo(tau: 0.1), batchSize: pairs.count)
        // The fixture's head order is not sorted; SteeringParameters sorts, so map by head.
        var parameters = SteeringParameters(parameterization: .headVectors, heads: heads, headWidth: 64, seed: 0)
        parameters.values = parameters.heads.flatMap { vectors[heads.firstIndex(of: $0)!] }
        let trainer = SteeringTrainer(model: model, configuration: config, parameters: parameters)
        let unsteered = SteeringTrainer(model: model, configuration: config)
        let reference = try unsteered.logProbabilities(pairs, steered: false)
        for (r, e) in zip(reference, fixture["reference_logprobs"] as! [[String: Double]]) {
            XCTAssertEqual(r.chosen, e["chosen"]!, accuracy: 2e-3)
            XCTAssertEqual(r.rejected, e["rejected"]!, accuracy: 2e-3)
        }
        let metrics = try trainer.evaluate(pairs, reference: reference)
        XCTAssertEqual(metrics.loss, fixture["loss"] as! Double, accuracy: 1e-2)
        let gradient = try trainer.lossGradient(pairs, reference: reference)
        let scale = expected.flatMap { $0 }.map(abs).max()!
        for (i, head) in parameters.heads.enumerated() {
            let want = expected[heads.firstIndex(of: head)!]
            for c in 0..<64 {
                XCTAssertEqual(Double(gradient[i * 64 + c]), want[c], accuracy: 1e-3 * scale + 1e-4, "\(head)[\(c)]")
            }
        }
    }
}
