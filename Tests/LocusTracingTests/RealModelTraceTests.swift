import Foundation
import LocusModel
import LocusTracing
import XCTest

final class RealModelTraceTests: XCTestCase {
    /// A known fact on SmolLM2: the noise destroys the answer, restoring the last layer at the
    /// last token brings it back, and the subject is located on the right tokens.
    func testTraceOfKnownFactOnSmolLM2() throws {
        let lm = try TracingTestSupport.smolLM()
        let prompt = try SubjectTokens(
            prompt: "The Eiffel Tower is located in the city of", subject: "Eiffel Tower",
            tokenizer: lm.tokenizer)
        XCTAssertEqual(lm.tokenizer.decode(Array(prompt.tokens[prompt.subject])), " Eiffel Tower")
        let answer = lm.tokenizer.encode(" Paris")[0]
        let std = CausalTracer.embeddingStandardDeviation(lm.model)
        let result = try CausalTracer(model: lm.model).trace(
            TraceRequest(tokens: prompt.tokens, subject: prompt.subject, answer: answer),
            corruption: .noise(scale: 3 * std, samples: 2, seed: 1),
            configuration: TraceConfiguration(kinds: [.hidden], layers: [0, 15, 29]))
        XCTAssertGreaterThan(result.clean.probability, 0.2)
        XCTAssertLessThan(result.corrupt.probability, result.clean.probability)
        let grid = try XCTUnwrap(result.grid(.hidden)).probability
        XCTAssertEqual(grid[prompt.tokens.count - 1][2], result.clean.probability, accuracy: 1e-4)
        // Before the subject nothing is corrupted: those cells are the corrupted score.
        XCTAssertEqual(grid[0][1], result.corrupt.probability)
    }
}
