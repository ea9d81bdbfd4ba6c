import LocusCore
import Foundation
import LocusInterventions
import LocusModel
import LocusScrubbing
import XCTest

/// Head-set studies (the `scrub` sweep method) on the tiny llama: with embeddings and MLPs kept
/// and the heads-only baseline, naming every head recovers 100% and naming no head 0%, the model
/// and baseline scores are computed once, and the result agrees with scrubbing the same
/// hypothesis directly; by default the baseline is Redwood's L_random (issue 11, item 8).
final class HeadSetScrubbingTests: XCTestCase {
    let baseline: [JSONValue] = [["component": "embed", "feature": "input"], ["mlps": "all", "feature": "input"]]

    func study(_ model: DecoderModel, baseline kind: ScrubBaseline = .headsOnly) throws -> HeadSetScrubbing {
        var settings = ScrubSettings()
        settings.seed = 9
        settings.tokensPerCall = 64
        let items = InductionTask.items(count: 10, length: 6, seed: 4, tokenRange: 3..<250, bos: 1)
        return try HeadSetScrubbing(
            model: model, items: items, settings: settings, keptEntries: baseline, baseline: kind)
    }

    /// L_random is the empty hypothesis (every component resampled), not the kept components;
    /// the same scrubbed scores are normalised against it, and the heads-only option still
    /// reproduces the old zero.
    func testDefaultBaselineIsRandomEveryComponentResampled() throws {
        let model = try TestSupport.tiny()
        var settings = ScrubSettings()
        settings.seed = 9
        settings.tokensPerCall = 64
        let items = InductionTask.items(count: 10, length: 6, seed: 4, tokenRange: 3..<250, bos: 1)
        let random = try HeadSetScrubbing(model: model, items: items, settings: settings, keptEntries: baseline)
        XCTAssertEqual(random.baselineKind, .random)
        XCTAssertTrue(random.baseline.important.isEmpty, "L_random keeps no component")
        let lRandom = try random.baselineScores()
        XCTAssertEqual(lRandom, try random.scrubber.scores(.empty))
        let headsOnly = try study(model, baseline: .headsOnly)
        let lHeadsOnly = try headsOnly.baselineScores()
        XCTAssertGreaterThan(
            abs(Bootstrap.mean(lRandom) - Bootstrap.mean(lHeadsOnly)), 1e-3,
            "resampling the embeddings and MLPs too must change the baseline")
        // The kept components alone: 0 against themselves, > 0 against L_random here (the
        // embeddings and MLPs on the input carry information about the repeated block).
        let kept = try random.hypothesis(named: "no heads", heads: [])
        let againstRandom = try random.evaluate(kept, bootstrapResamples: 100)
        let m = Bootstrap.mean(try random.modelScores())
        XCTAssertEqual(
            againstRandom.lossRecovered,
            (Bootstrap.mean(lRandom) - againstRandom.scrubbedMetric) / (Bootstrap.mean(lRandom) - m),
            accuracy: 1e-9)
        XCTAssertEqual(try headsOnly.evaluate(kept, bootstrapResamples: 100).lossRecovered, 0, accuracy: 1e-9)
        XCTAssertNotEqual(againstRandom.lossRecovered, 0)
        // Every head on top of the kept components is the whole model under either baseline.
        let every = try random.hypothesis(named: "all", heads: AttentionHead.all(in: model.config))
        XCTAssertEqual(try random.evaluate(every, bootstrapResamples: 100).lossRecovered, 1, accuracy: 1e-4)
    }

    /// The sweep parameters: default = keep embeddings and MLPs, L_random; heads-only is explicit;
    /// legacy values keep their old meaning.
    func testSweepSettingDefaultsToRandom() {
        XCTAssertTrue(ScrubBaseline.sweepSetting(baseline: nil, keep: nil) == (true, .random))
        XCTAssertTrue(ScrubBaseline.sweepSetting(baseline: "headsOnly", keep: nil) == (true, .headsOnly))
        XCTAssertTrue(ScrubBaseline.sweepSetting(baseline: "random", keep: "none") == (false, .random))
        XCTAssertTrue(ScrubBaseline.sweepSetting(baseline: "embedAndMLPs", keep: nil) == (true, .headsOnly))
        XCTAssertTrue(ScrubBaseline.sweepSetting(baseline: "none", keep: nil) == (false, .random))
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
