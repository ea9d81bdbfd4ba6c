import LocusModel
import LocusScrubbing
import XCTest

/// A few seconds on SmolLM2: induction items, an ablation scan of one layer, and the 100%/0%
/// bounds of scrubbing.
final class RealModelScrubbingTests: XCTestCase {
    func testInductionOnSmolLM2() throws {
        let lm = try TestSupport.smolLM()
        let items = InductionTask.items(count: 4, length: 12, seed: 1, tokenRange: 1000..<20000, bos: lm.config.bosTokenID)
        var settings = ScrubSettings()
        settings.tokensPerCall = 256
        let scrubber = CausalScrubber(model: lm.model, items: items, settings: settings)
        let clean = try scrubber.modelScores()
        let none = try scrubber.scores(.empty)
        // The model copies the repeat: second-repeat loss is low, far below a random input's.
        // Scores are mean losses here.
        XCTAssertGreaterThan(Bootstrap.mean(none), Bootstrap.mean(clean) + 3)
        for (a, b) in zip(try scrubber.scores(.everything(in: lm.config)), clean) {
            XCTAssertEqual(a, b, accuracy: 1e-4)
        }
    }
}
