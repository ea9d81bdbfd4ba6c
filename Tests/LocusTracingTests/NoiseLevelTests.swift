import Foundation
import LocusData
import LocusTestSupport
@testable import LocusTracing
import XCTest

final class NoiseLevelTests: XCTestCase {
    /// ν's unit equals numpy's std (ddof=1) of the embedding rows of every known fact's subject
    /// tokens (ROME's `collect_embedding_std`; fixture by scripts/reference/make_rome_fixture.py
    /// with the HF tokenizer of the same GGUF). Same token count, std within 1e-6 relative.
    func testSubjectEmbeddingStdMatchesNumpyOverKnownFacts() throws {
        struct Fixture: Decodable {
            struct Noise: Decodable {
                var subjects: Int
                var tokens: Int
                var std_ddof1: Double
                var embedding_matrix_std_ddof0: Double
            }
            var noise_level: Noise
        }
        let url = TestEnvironment.packageRoot.appendingPathComponent(
            "Tests/LocusEditingTests/Fixtures/rome_vstar_reference.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url)).noise_level
        let lm = try TestEnvironment.smolLM()
        let facts = try KnownFacts.load(try TestEnvironment.dataLocation().url("knowns/known_1000.json"))
        let stats = try NoiseLevel.subjectEmbeddingStandardDeviation(
            model: lm.model, tokenizer: lm.tokenizer, subjects: facts.map(\.subject))
        XCTAssertEqual(stats.subjects, fixture.subjects)
        XCTAssertEqual(stats.tokens, fixture.tokens)
        XCTAssertEqual(stats.standardDeviation, fixture.std_ddof1, accuracy: 1e-6 * fixture.std_ddof1)
        // The whole-matrix std (the old unit) is a different number.
        let matrix = Double(CausalTracer.embeddingStandardDeviation(lm.model))
        XCTAssertEqual(matrix, fixture.embedding_matrix_std_ddof0, accuracy: 1e-5 * matrix)
        XCTAssertGreaterThan(abs(matrix - stats.standardDeviation), 0.01)
    }

    /// On a hand-made input the n − 1 std is the textbook one, and the cache round-trips.
    func testStdIsUnbiasedAndCached() throws {
        let model = try TestEnvironment.tinyLlama()
        let tokenizer = ByteTokenizer()
        let stats = try NoiseLevel.subjectEmbeddingStandardDeviation(
            model: model, tokenizer: tokenizer, subjects: ["ab", "a"])
        let c = model.config.hiddenSize
        let e = model.weights.embedding.pointer
        var values: [Double] = []
        for id in [97, 98, 97] { for i in 0..<c { values.append(Double(e[id * c + i])) } }
        let mean = values.reduce(0, +) / Double(values.count)
        let std = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)).squareRoot()
        XCTAssertEqual(stats.tokens, 3)
        XCTAssertEqual(stats.standardDeviation, std, accuracy: 1e-12)
        let dir = try TestEnvironment.temporaryDirectory("noise-cache")
        let url = dir.appendingPathComponent("n.json")
        var computed = 0
        let first = try SubjectEmbeddingStatistics.cached(at: url) { computed += 1; return stats }
        let second = try SubjectEmbeddingStatistics.cached(at: url) { computed += 1; return stats }
        XCTAssertEqual(computed, 1)
        XCTAssertEqual(first, second)
        XCTAssertThrowsError(
            try NoiseLevel.subjectEmbeddingStandardDeviation(model: model, tokenizer: tokenizer, subjects: []))
    }

    /// Hase's tracing effect on a hand-made grid: (p − p_corrupt)/|p_corrupt − p_high| floored
    /// at 0, p_high = max(p_clean, largest restored p), maximised over tokens per layer.
    func testHaseTracingEffectFloorAndHigh() {
        let grid = TraceGrid(
            kind: .mlp, window: 5, layers: [0, 1, 2],
            probability: [
                [0.10, 0.10, 0.10],  // before the subject: p_corrupt
                [0.05, 0.30, 0.60],
                [0.02, 0.20, 0.00],
            ],
            logitDifference: nil)
        let result = TraceResult(
            tokens: [1, 2, 3], subjectStart: 1, subjectEnd: 3, answer: 0, alternative: nil,
            clean: TraceScore(probability: 0.50, logitDifference: nil),
            corrupt: TraceScore(probability: 0.10, logitDifference: nil),
            grids: [grid], noiseScale: 1, samples: 1, seed: 0)
        // p_high = max(0.5, 0.6) = 0.6, span 0.5.
        let effects = result.haseLayerEffects(.mlp)!
        XCTAssertEqual(effects[0], 0, accuracy: 1e-12)  // every cell ≤ p_corrupt: floored
        XCTAssertEqual(effects[1], 0.4, accuracy: 1e-12)  // (0.30 − 0.10)/0.5
        XCTAssertEqual(effects[2], 1.0, accuracy: 1e-12)  // (0.60 − 0.10)/0.5
        // The unfloored Locus effect divides by p_clean − p_corrupt and can go negative.
        XCTAssertEqual(result.normalized(.mlp)![2][2], -0.25, accuracy: 1e-12)
        // A corrupted run above the clean one: |·| keeps the sign of restoration.
        XCTAssertEqual(TraceMath.fractionRestored(0.3, corrupt: 0.5, high: 0.2), 0)
        XCTAssertEqual(TraceMath.fractionRestored(0.7, corrupt: 0.5, high: 0.2), 0.2 / 0.3, accuracy: 1e-12)
        XCTAssertEqual(TraceMath.fractionRestored(0.7, corrupt: 0.5, high: 0.5), 0)
    }
}
