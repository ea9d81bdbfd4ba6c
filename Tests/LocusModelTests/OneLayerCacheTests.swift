import Foundation
@testable import LocusModel
import LocusTensor
import XCTest

/// The one-layer KV cache (issue 13: a 7B model keeps 1 MB of keys and values per position per
/// sequence at every layer, 32 KB at one): continuations read a prefix cache layer by layer and
/// give exactly the numbers of a full copy; a stateless forward keeps one layer; a one-layer
/// cache cannot be continued by a later call.
final class OneLayerCacheTests: XCTestCase {
    func model() throws -> DecoderModel {
        BLAS.setThreadCount(1)
        return try DecoderModel.load(from: TestSupport.fixtures.appendingPathComponent("tiny-llama", isDirectory: true))
    }

    func rows(_ logits: Logits, sequence s: Int, positions: Range<Int>) -> [[Float]] {
        positions.map { Array(logits.row(sequence: s, position: $0)) }
    }

    /// Two prompts of different lengths, three continuations each (plus a filler sequence):
    /// `continue` into a one-layer cache equals `copyPrefix` into an every-layer cache bit for bit,
    /// and both equal the whole sequences computed without a cache.
    func testContinuationsFromAPrefixSourceMatchFullCopies() throws {
        let m = try model()
        let prompts = [[1, 5, 9, 2, 7], [3, 3, 8]]
        let source = KVCache(config: m.config, sequences: 2, capacity: 5)
        _ = try m.forward(prompts, cache: source, logits: .none)
        let items: [(prompt: Int, tokens: [Int])] = [(0, [4, 6]), (1, [2, 11, 5]), (0, [10]), (1, [7, 7])]
        let capacity = 5 + 3
        let full = KVCache(config: m.config, sequences: items.count + 1, capacity: capacity)
        let oneLayer = KVCache(config: m.config, sequences: items.count + 1, capacity: capacity, storage: .oneLayer)
        for (s, item) in items.enumerated() {
            full.copyPrefix(from: source, sequence: item.prompt, to: s)
            oneLayer.continue(source, sequence: item.prompt, at: s)
        }
        let inputs = items.map(\.tokens) + [[0]]  // a filler sequence at position 0
        let a = try m.forward(inputs, cache: full, logits: .all)
        let b = try m.forward(inputs, cache: oneLayer, logits: .all)
        for (s, item) in items.enumerated() {
            let p = prompts[item.prompt].count
            let range = p..<(p + item.tokens.count)
            XCTAssertEqual(rows(a, sequence: s, positions: range), rows(b, sequence: s, positions: range))
            let whole = try m.forward([prompts[item.prompt] + item.tokens], logits: .all)
            for (x, y) in zip(rows(b, sequence: s, positions: range), rows(whole, sequence: 0, positions: range)) {
                XCTAssertLessThan(maxAbsDifference(x, y), 1e-4)
            }
        }
        XCTAssertEqual(rows(a, sequence: items.count, positions: 0..<1), rows(b, sequence: items.count, positions: 0..<1))
        XCTAssertEqual(
            KVCache.bytes(config: m.config, sequences: 3, capacity: 10) / m.config.layerCount,
            KVCache.bytes(config: m.config, sequences: 3, capacity: 10, storage: .oneLayer))
    }

    /// `scoreContinuations` (one-layer continuations) against the sum of log-softmax rows of the
    /// whole sequences.
    func testScoredContinuationsMatchWholeSequences() throws {
        let m = try model()
        let prompt = [2, 9, 4, 4, 1]
        let continuations = [[6, 3, 8], [12], [5, 5]]
        let scores = try m.scoreContinuations(prompt: prompt, continuations: continuations)
        for (c, scored) in zip(continuations, scores) {
            let whole = try m.forward([prompt + c], logits: .all)
            var expected = 0.0
            for (t, token) in c.enumerated() {
                expected += Double(whole.logProbability(of: token, sequence: 0, position: prompt.count - 1 + t))
            }
            XCTAssertEqual(scored.total, expected, accuracy: 1e-4)
        }
    }

    /// A one-layer cache holds the last layer's rows after a call: continuing it without a prefix
    /// source is an error, not wrong numbers. Truncating an every-layer cache and computing
    /// another continuation in the same rows gives the numbers of a fresh cache.
    func testOneLayerCacheIsNotContinuedAndTruncationReusesRows() throws {
        let m = try model()
        let oneLayer = KVCache(config: m.config, sequences: 1, capacity: 8, storage: .oneLayer)
        _ = try m.forward([[1, 2, 3]], cache: oneLayer, logits: .none)
        XCTAssertEqual(oneLayer.lengths, [0], "a one-layer cache keeps nothing after its call")
        let prefix = KVCache(config: m.config, sequences: 1, capacity: 8)
        _ = try m.forward([[1, 2, 3]], cache: prefix, logits: .none)
        let bad = KVCache(config: m.config, sequences: 1, capacity: 8, storage: .oneLayer)
        bad.continue(prefix, sequence: 0, at: 0)
        _ = try m.forward([[4]], cache: bad, logits: .last)  // fine: the source is copied per layer
        XCTAssertEqual(bad.lengths, [0])

        _ = try m.forward([[4, 5]], cache: prefix, logits: .all)
        prefix.truncate(sequence: 0, to: 3)
        let reused = try m.forward([[6, 7]], cache: prefix, logits: .all)
        let fresh = try m.forward([[1, 2, 3, 6, 7]], logits: .all)
        for p in 3..<5 {
            XCTAssertLessThan(
                maxAbsDifference(reused.row(sequence: 0, position: p), Array(fresh.row(sequence: 0, position: p))), 1e-4)
        }
    }

    /// A one-layer cache that claims cached tokens without a prefix source (its rows would be
    /// another layer's) is refused.
    func testContinuingAOneLayerCacheWithoutSourceThrows() throws {
        let m = try model()
        let cache = KVCache(config: m.config, sequences: 1, capacity: 8, storage: .oneLayer)
        cache.lengths[0] = 2
        XCTAssertThrowsError(try m.forward([[3]], cache: cache, logits: .last)) { error in
            guard case ModelError.cacheMismatch(let why) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("one-layer cache"), why)
        }
    }
}
