import LocusCore
import Foundation
import LocusInterventions
import LocusModel
import LocusScrubbing
import XCTest

final class ScrubbingTests: XCTestCase {
    func items(_ model: DecoderModel, count: Int = 12) -> [ScrubItem] {
        InductionTask.items(count: count, length: 6, seed: 21, tokenRange: 3..<250, bos: 1)
    }

    func settings(seed: UInt64 = 5, depth: Int = 1) -> ScrubSettings {
        var s = ScrubSettings()
        s.seed = seed
        s.depth = depth
        s.tokensPerCall = 64
        return s
    }

    /// Naming every component (feature: the input) recovers 100%; naming none gives L_random.
    func testEverythingRecoversAllAndNothingRecoversNone() throws {
        let model = try TestSupport.tiny()
        let data = items(model)
        let scrubber = CausalScrubber(model: model, items: data, settings: settings())
        let clean = try scrubber.modelScores()
        let all = try scrubber.scores(.everything(in: model.config))
        let none = try scrubber.scores(.empty)
        // Nothing is replaced; only the packing of the forward calls differs (last bits).
        for (a, b) in zip(all, clean) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertEqual(Bootstrap.recovered(model: clean, scrubbed: all, random: none), 1, accuracy: 1e-5)
        // Another seed's random run against this one: recovered ≈ 0 (loss scale of the tiny model).
        let other = try CausalScrubber(model: model, items: data, settings: settings(seed: 77)).scores(.empty)
        let r = Bootstrap.recovered(model: clean, scrubbed: other, random: none)
        XCTAssertLessThan(abs(r), 0.35, "recovered \(r)")
        XCTAssertEqual(Bootstrap.recovered(model: clean, scrubbed: none, random: none), 0)
    }

    /// With one random source, the empty hypothesis resamples embeddings, heads and MLPs from
    /// the same input r: the scrubbed logits are exactly the model's on r, scored on x's tokens.
    func testEmptyHypothesisIsTheModelOnTheRandomInput() throws {
        let model = try TestSupport.tiny()
        let data = items(model, count: 4)
        let scrubber = CausalScrubber(model: model, items: data, settings: settings())
        let none = try scrubber.scores(.empty)
        // Find which r was drawn: the only other item whose clean logits reproduce the score.
        for i in data.indices {
            let x = data[i].sequences[0]
            let matches = data.indices.filter { j in
                guard j != i, let logits = try? model.forward([data[j].sequences[0]], logits: .all) else { return false }
                let s = data[i].score { _, t in logits.logProbability(of: x[t], sequence: 0, position: t - 1) }
                return abs(s - none[i]) < 1e-4
            }
            XCTAssertEqual(matches.count, 1, "item \(i)")
        }
    }

    /// When every upstream component is computed in place, one more level of recursion changes
    /// nothing: an important head with a feature reads its agreeing input either way.
    ///
    /// The items draw their tokens from 3..<6, so every item has other items with the same last
    /// token and L1H2 really reads another input (with 247 token values, as before, no two of
    /// the 12 items agreed, L1H2 read its own input, and "scrubbed ≠ clean" held only through
    /// rounding differences of the packing, which failed or passed with the test order).
    func testDepthTwoEqualsDepthOneWhenUpstreamIsInPlace() throws {
        let model = try TestSupport.tiny()
        let data = InductionTask.items(count: 12, length: 6, seed: 21, tokenRange: 3..<6, bos: 1)
        let last = data.map { $0.sequences[0].last! }
        XCTAssertTrue(last.allSatisfy { t in last.filter { $0 == t }.count > 1 }, "\(last)")
        var list = Component.all(in: model.config).map { ($0, Feature.input) }
        list.removeAll { $0.0 == .head(AttentionHead(layer: 1, head: 2)) }
        list.append((.head(AttentionHead(layer: 1, head: 2)), .token(-1)))
        let hypothesis = Hypothesis(name: "t", important: list)
        let one = try CausalScrubber(model: model, items: data, settings: settings(depth: 1)).scores(hypothesis)
        let two = try CausalScrubber(model: model, items: data, settings: settings(depth: 2)).scores(hypothesis)
        for (a, b) in zip(one, two) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        let clean = try CausalScrubber(model: model, items: data, settings: settings()).modelScores()
        // A real change, far above rounding (~1e-6): the hypothesis is not a no-op.
        let change = zip(one, clean).map { abs($0 - $1) }.max() ?? 0
        XCTAssertGreaterThan(change, 1e-3, "scrubbing L1H2 changed the scores by only \(change)")
    }

    /// Depth 2 with a scrubbed upstream differs from depth 1, and a head's important feature
    /// makes its source agree on that feature.
    func testDeeperRecursionRunsAndFeaturesAgree() throws {
        let model = try TestSupport.tiny()
        let data = items(model)
        let hypothesis = try Hypothesis.parse(
            [
                "components": [
                    ["component": "embed", "feature": "input"],
                    ["component": ["L1H0", "L1H1"], "feature": "token:-1"],
                    ["component": "L0H2", "feature": "nothing"],
                    ["mlps": "all", "feature": "input"],
                    ["component": "resid_pre1@-1", "feature": "column:first"],
                ]
            ], config: model.config)
        XCTAssertEqual(hypothesis.important.count, 1 + 2 + 1 + 2 + 1)
        let one = try CausalScrubber(model: model, items: data, settings: settings(depth: 1)).scores(hypothesis)
        let three = try CausalScrubber(model: model, items: data, settings: settings(depth: 3)).scores(hypothesis)
        XCTAssertEqual(one.count, data.count)
        XCTAssertTrue(three.allSatisfy(\.isFinite))
        // Far above rounding: depth 3 scrubs L0H2 inside the sources of L1H0/L1H1.
        let change = zip(one, three).map { abs($0 - $1) }.max() ?? 0
        XCTAssertGreaterThan(change, 1e-3, "depth 3 changed the scores by only \(change)")
    }

    func testComponentAndFeatureParsing() throws {
        for text in ["embed", "L5H1", "mlp5", "resid_pre5@-1", "resid_mid2@3", "resid_post0@0"] {
            XCTAssertEqual(try Component(parsing: text).description, text)
        }
        XCTAssertThrowsError(try Component(parsing: "mlp"))
        for text in ["input", "nothing", "label", "column:category", "token:-2"] {
            XCTAssertEqual(try Feature(parsing: text).description, text)
        }
        XCTAssertThrowsError(try Feature(parsing: "colour"))
        XCTAssertEqual(PositionAlignment.start.sourcePosition(6, targetLength: 7, sourceLength: 4), 3)
        XCTAssertEqual(PositionAlignment.end.sourcePosition(6, targetLength: 7, sourceLength: 4), 3)
        XCTAssertEqual(PositionAlignment.end.sourcePosition(2, targetLength: 7, sourceLength: 4), 0)
        XCTAssertEqual(PositionAlignment.end.sourcePosition(2, targetLength: 3, sourceLength: 5), 4)
    }

    func testBootstrapIntervalIsSeededAndContainsTheEstimate() {
        let model = (0..<40).map { Double($0 % 7) * 0.1 }
        let random = model.map { $0 + 2 }
        let scrubbed = model.enumerated().map { $1 + 0.5 + Double($0 % 3) * 0.2 }
        let r = Bootstrap.recovered(model: model, scrubbed: scrubbed, random: random)
        let a = Bootstrap.interval(model: model, scrubbed: scrubbed, random: random, seed: 3)
        let b = Bootstrap.interval(model: model, scrubbed: scrubbed, random: random, seed: 3)
        XCTAssertEqual(a.low, b.low)
        XCTAssertLessThanOrEqual(a.low, r)
        XCTAssertGreaterThanOrEqual(a.high, r)
    }
}
