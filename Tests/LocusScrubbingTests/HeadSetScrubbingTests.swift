import Foundation
import LocusInterventions
import LocusModel
import LocusScrubbing
import XCTest

/// Head-set studies (the `scrub` sweep method) on the tiny llama: with embeddings and MLPs kept,
/// naming every head recovers 100% and naming no head 0%, the model and baseline scores are
/// computed once, and the result agrees with scrubbing the same hypothesis directly.
final class HeadSetScrubbingTests: XCTestCase {
    let baseline: [[String: Any]] = [["component": "embed", "feature": "input"], ["mlps": "all", "feature": "input"]]

    func study(_ model: LlamaModel) throws -> HeadSetScrubbing {
        var settings = ScrubSettings()
        settings.seed = 9
        settings.tokensPerCall = 64
        let items = InductionTask.items(count: 10, length: 6, seed: 4, tokenRange: 3..<250, bos: 1)
        return try HeadSetScrubbing(model: model, items: items, settings: settings, baselineEntries: baseline)
    }

    func testAllHeadsRecoverEverythingAndNoHeadsNothing() throws {
        let model = try TestSupport.tiny()
        let s = try study(model)
        let every = AttentionHead.all(in: model.config)
        let all = try s.evaluate(try s.hypothesis(named: "all", heads: every), bootstrapResamples: 200)
        XCTAssertEqual(all.lossRecovered, 1, accuracy: 1e-4)
        XCTAssertEqual(all.scrubbedMetric, all.modelMetric, accuracy: 1e-4 * abs(all.modelMetric))
        let none = try s.evaluate(try s.hypothesis(named: "none", heads: []), bootstrapResamples: 200)
        XCTAssertEqual(none.lossRecovered, 0, accuracy: 1e-9)
        XCTAssertEqual(none.scrubbedMetric, none.baselineMetric)
        XCTAssertNotEqual(all.modelMetric, all.baselineMetric, "resampling the heads must change the loss")
        XCTAssertEqual(s.metricName, "mean loss (nats)")
    }

    func testOneHeadMatchesScrubbingItsHypothesisDirectly() throws {
        let model = try TestSupport.tiny()
        let s = try study(model)
        let heads = [AttentionHead(layer: 1, head: 2)]
        let h = try s.hypothesis(named: "L1H2", heads: heads)
        XCTAssertEqual(h.important.count, 1 + model.config.layerCount + 1, "embed + MLPs + the head")
        let result = try s.evaluate(h, bootstrapResamples: 500)
        let direct = try s.scrubber.scores(h)
        let model_ = try s.modelScores(), base = try s.baselineScores()
        XCTAssertEqual(result.lossRecovered, Bootstrap.recovered(model: model_, scrubbed: direct, random: base))
        let ci = Bootstrap.interval(model: model_, scrubbed: direct, random: base, resamples: 500, seed: 10)
        XCTAssertEqual(result.ci95.low, ci.low)
        XCTAssertEqual(result.ci95.high, ci.high)
        XCTAssertLessThanOrEqual(result.ci95.low, result.lossRecovered)
        XCTAssertGreaterThanOrEqual(result.ci95.high, result.lossRecovered)
    }
}
