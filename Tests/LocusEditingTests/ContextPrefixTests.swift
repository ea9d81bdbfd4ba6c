import Foundation
import LocusEditing
import LocusModel
import LocusTensor
import LocusTestSupport
import XCTest

/// ROME's sampled context prefixes (`ContextPrefixStyle.sampled`, kmeng01/rome
/// `rome/rome_main.py` L154–172, `util/generate.py` L77–157) and Locus's greedy rule.
final class ContextPrefixTests: XCTestCase {
    /// Top-k sampling draws only the k largest logits, in proportion to their renormalised
    /// softmax probabilities (torch.topk + multinomial), and is reproducible for a seed.
    func testTopKSamplingFrequenciesAndSupport() {
        let logits: [Float] = [0.3, 2.0, -1.0, 1.5, 0.9, 1.0, 3.0, -0.5]
        let top = [6, 1, 3, 5, 4]  // the five largest, in order
        let weights = top.map { Foundation.exp(Double(logits[$0])) }
        let total = weights.reduce(0, +)
        var counts = [Int: Int]()
        var g = SeededGenerator(seed: 11)
        let n = 40_000
        logits.withUnsafeBufferPointer { row in
            for _ in 0..<n { counts[ContextPrefixes.sampleTopK(row, k: 5, generator: &g), default: 0] += 1 }
        }
        XCTAssertEqual(Set(counts.keys), Set(top), "only the five largest logits are drawn")
        for (id, w) in zip(top, weights) {
            // Binomial standard error ≤ 0.0025 at n = 40,000: 0.01 is four of them.
            XCTAssertEqual(Double(counts[id]!) / Double(n), w / total, accuracy: 0.01, "token \(id)")
        }
        var a = SeededGenerator(seed: 5), b = SeededGenerator(seed: 5)
        logits.withUnsafeBufferPointer { row in
            let x = (0..<50).map { _ in ContextPrefixes.sampleTopK(row, k: 5, generator: &a) }
            let y = (0..<50).map { _ in ContextPrefixes.sampleTopK(row, k: 5, generator: &b) }
            XCTAssertEqual(x, y)
        }
    }

    /// ROME's lengths (max_out_len 5 and 10 counting the start token: 4 and 9 new tokens, the
    /// short ones first), every token among the five most likely after the start token and the
    /// tokens before it, the same prefixes for the same seed and different ones for another.
    func testSampledPrefixesFollowROMEAndAreSeeded() throws {
        let lm = try TestEnvironment.tinyLanguageModel(addingBOS: true)
        let start = try ContextPrefixes.startToken(lm)
        XCTAssertEqual(start, TestEnvironment.tinyBOS)  // no "<|endoftext|>" token: BOS
        let tokens = try ContextPrefixes.sampledTokens(lm, count: 5, seed: 3)
        XCTAssertEqual(tokens.map(\.count), [4, 4, 4, 9, 9])
        for sequence in tokens {
            for (k, token) in sequence.enumerated() {
                let row = try lm.model.forward([[start] + Array(sequence[..<k])], logits: .last).last(sequence: 0)
                let larger = row.filter { $0 > row[token] }.count
                XCTAssertLessThan(larger, ContextPrefixes.sampledTopK, "token \(k) is not in the top 5")
            }
        }
        XCTAssertEqual(try ContextPrefixes.sampledTokens(lm, count: 5, seed: 3), tokens)
        XCTAssertNotEqual(try ContextPrefixes.sampledTokens(lm, count: 5, seed: 4), tokens)
        let texts = try ContextPrefixes.generate(lm, count: 5, seed: 3, style: .sampled)
        XCTAssertEqual(texts.count, 5)
        XCTAssertEqual(
            texts[0],
            lm.tokenizer.decode(tokens[0].filter { $0 != start }).decomposedStringWithCompatibilityMapping
                .replacingOccurrences(of: "\n\n", with: " "))
        // The greedy rule is another computation, deterministic too.
        let greedy = try ContextPrefixes.generate(lm, count: 5, seed: 3, style: .greedy)
        XCTAssertEqual(greedy, try ContextPrefixes.generate(lm, count: 5, seed: 3, style: .greedy))
        XCTAssertNotEqual(greedy, texts)
    }

    /// ROME's settings default to sampled prefixes, and an edit uses the prefixes of its style
    /// and seed (recorded in `ROMEResult.contexts`).
    func testEditUsesTheChosenPrefixes() throws {
        let lm = try TestEnvironment.tinyLanguageModel(addingBOS: true)
        var hyper = ROMEHyperparameters(layer: 0)
        XCTAssertEqual(hyper.contextStyle, .sampled)
        hyper.contextCount = 3
        hyper.contextSeed = 9
        hyper.steps = 2
        let chunks = (0..<12).map { i in (0..<24).map { ($0 * 7 + i * 13) % 256 } }
        let stats = try KeyStatistics.compute(model: lm.model, layers: [0], chunks: chunks)[0]!
        let request = EditRequest(prompt: "ab cd ef", subject: "cd", target: "zq")
        let (backup, result) = try ROMEEditor(languageModel: lm).edit(request, hyper: hyper, statistics: stats)
        backup.restore(into: lm.model)
        XCTAssertEqual(result.contexts, try ContextPrefixes.generate(lm, count: 3, seed: 9, style: .sampled))
        hyper.contextStyle = .greedy
        let (backup2, greedy) = try ROMEEditor(languageModel: lm).edit(request, hyper: hyper, statistics: stats)
        backup2.restore(into: lm.model)
        XCTAssertEqual(greedy.contexts, try ContextPrefixes.generate(lm, count: 3, seed: 9, style: .greedy))
    }

    /// A tokenizer with no "<|endoftext|>", BOS or EOS cannot start ROME's samples: a clear error.
    func testSampledPrefixesNeedAStartToken() throws {
        let lm = try TestEnvironment.tinyLanguageModel()
        XCTAssertThrowsError(try ContextPrefixes.generate(lm, count: 2, seed: 0, style: .sampled)) {
            XCTAssertTrue("\($0)".contains("--context-prefixes greedy"))
        }
    }
}
