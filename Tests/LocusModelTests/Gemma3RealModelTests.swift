import Foundation
import LocusModel
import LocusTensor
import LocusTestSupport
import LocusWeights
import XCTest

/// The real Gemma-3-270M (Q4_K_M GGUF, `scripts/fetch-model.sh gemma3`) against transformers
/// loading the same GGUF dequantised to fp32 (`make_family_fixtures.py gemma3-270m`): with
/// `--weights f32`, the last position's top-50 and 256 sampled logits within 5e-3 and the argmax
/// at every position equal, for four prompts with BOS (the tokenizer's ids are the fixture's),
/// and 20 greedy tokens equal.
final class Gemma3RealModelTests: XCTestCase {
    nonisolated(unsafe) static var loaded: LanguageModel?

    func model() throws -> LanguageModel {
        BLAS.setThreadCount(1)
        if let loaded = Self.loaded { return loaded }
        let url = TestEnvironment.packageRoot.appendingPathComponent("models/gemma-3-270m-Q4_K_M.gguf")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkipFailure("missing \(url.path): run scripts/fetch-model.sh gemma3")
        }
        let lm = try LanguageModel.load(from: url, weights: .f32)
        Self.loaded = lm
        return lm
    }

    func testConfigAndTokenizer() throws {
        let lm = try model()
        let c = lm.config
        XCTAssertEqual(c.family, .gemma3)
        XCTAssertEqual(
            [c.layerCount, c.hiddenSize, c.headCount, c.keyValueHeadCount, c.headWidth, c.vocabularySize],
            [18, 640, 4, 1, 256, 262_144])
        XCTAssertEqual(c.architecture.slidingLayers.count, 15)
        let fixture = try TestSupport.json("gemma3_270m_reference.json")
        for case let prompt as [String: Any] in fixture.list("prompts") {
            XCTAssertEqual(lm.tokenizer.encodePrompt(prompt.string("text")), prompt.list("ids").ints,
                           prompt.string("name"))
        }
    }

    func testLogitsMatchTransformers() throws {
        let lm = try model()
        let fixture = try TestSupport.json("gemma3_270m_reference.json")
        let sampled = fixture.list("sampled_ids").ints
        for case let prompt as [String: Any] in fixture.list("prompts") {
            let name = prompt.string("name")
            let ids = prompt.list("ids").ints
            let logits = try lm.model.forward([ids], logits: .all)
            let last = logits.last(sequence: 0)
            var worst: Float = 0
            for case let pair as [Any] in prompt.list("top") {
                let id = (pair[0] as! NSNumber).intValue
                worst = max(worst, abs(last[id] - Float((pair[1] as! NSNumber).doubleValue)))
            }
            worst = max(worst, maxAbsDifference(sampled.map { last[$0] }, prompt.list("sampled").floats))
            XCTAssertLessThan(worst, 5e-3, name)
            let argmax = (0..<ids.count).map { p -> Int in
                let row = logits.row(sequence: 0, position: p)
                return LogSoftmax.argmax(row.baseAddress!, count: row.count)
            }
            XCTAssertEqual(argmax, prompt.list("argmax").ints, name)
            print("gemma3-270m \(name): max |Δlogit| \(worst)")
        }
    }

    func testGreedyMatchesTransformers() throws {
        let lm = try model()
        let fixture = try TestSupport.json("gemma3_270m_reference.json")
        for case let prompt as [String: Any] in fixture.list("prompts") {
            let expected = prompt.list("greedy_ids").ints
            XCTAssertEqual(
                try lm.model.generateGreedy(
                    prompt: prompt.list("ids").ints, maxTokens: expected.count, stopTokens: []),
                expected, prompt.string("name"))
        }
    }

    /// `--weights stored` (Q4_K/Q5_0/Q6_K/Q8_0 kept quantised; Q/K rows permuted as stored
    /// bytes): prefill dequantises panels into sgemm, so its logits stay within 5e-3 of the
    /// fixture too, with the same argmax at every position.
    func testStoredWeightsMatch() throws {
        BLAS.setThreadCount(1)
        let url = TestEnvironment.packageRoot.appendingPathComponent("models/gemma-3-270m-Q4_K_M.gguf")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkipFailure("missing \(url.path): run scripts/fetch-model.sh gemma3")
        }
        let stored = try DecoderModel.load(from: url, weights: .stored)
        let fixture = try TestSupport.json("gemma3_270m_reference.json")
        for case let prompt as [String: Any] in fixture.list("prompts") {
            let ids = prompt.list("ids").ints
            let logits = try stored.forward([ids], logits: .all)
            let last = logits.last(sequence: 0)
            var worst: Float = 0
            for case let pair as [Any] in prompt.list("top") {
                let id = (pair[0] as! NSNumber).intValue
                worst = max(worst, abs(last[id] - Float((pair[1] as! NSNumber).doubleValue)))
            }
            XCTAssertLessThan(worst, 5e-3, prompt.string("name"))
            let argmax = (0..<ids.count).map { p -> Int in
                let row = logits.row(sequence: 0, position: p)
                return LogSoftmax.argmax(row.baseAddress!, count: row.count)
            }
            XCTAssertEqual(argmax, prompt.list("argmax").ints, prompt.string("name"))
            print("gemma3-270m stored \(prompt.string("name")): max |Δlogit| \(worst)")
        }
    }

    /// `--weights stored` decode (int8 activations on Q4_K, Q5_0, Q6_K and Q8_0 blocks) against
    /// the fp32 model: three cached decode steps after each fixture prompt stay within KL(fp32 ‖
    /// stored) < 0.01 with the same argmax (the activation-rounding tolerance of `WeightMatrix`),
    /// and 12 greedy tokens from the first prompt are the fp32 model's.
    func testStoredDecodeStaysClose() throws {
        let reference = try model().model
        let url = TestEnvironment.packageRoot.appendingPathComponent("models/gemma-3-270m-Q4_K_M.gguf")
        let stored = try DecoderModel.load(from: url, weights: .stored)
        XCTAssertEqual(WeightMatrix.activationQuantization, .decode)
        let fixture = try TestSupport.json("gemma3_270m_reference.json")
        var worstKL = 0.0, worst: Float = 0
        var first: [Int]?
        for case let prompt as [String: Any] in fixture.list("prompts") {
            let ids = prompt.list("ids").ints
            guard ids.count >= 5 else { continue }
            first = first ?? ids
            let cache = KVCache(config: stored.config, sequences: 1, capacity: ids.count + 4)
            _ = try stored.forward([Array(ids.dropLast(3))], cache: cache)
            for step in 0..<3 {
                let decoded = Array(try stored.forward([[ids[ids.count - 3 + step]]], cache: cache)
                    .last(sequence: 0))
                let full = Array(try reference.forward([Array(ids.prefix(ids.count - 2 + step))])
                    .last(sequence: 0))
                let lseP = LogSoftmax.logSumExp(full, count: full.count)
                let lseQ = LogSoftmax.logSumExp(decoded, count: decoded.count)
                let kl = full.indices.reduce(0.0) { sum, i in
                    let lp = Double(full[i] - lseP), lq = Double(decoded[i] - lseQ)
                    return sum + exp(lp) * (lp - lq)
                }
                worstKL = max(worstKL, kl)
                worst = max(worst, zip(decoded, full).map { abs($0 - $1) }.max()!)
                XCTAssertEqual(
                    LogSoftmax.argmax(decoded, count: decoded.count),
                    LogSoftmax.argmax(full, count: full.count), "\(prompt.string("name")) step \(step)")
            }
        }
        print("gemma3-270m stored decode vs fp32: max |Δlogit| \(worst), KL \(worstKL)")
        XCTAssertLessThan(worstKL, 0.01)
        XCTAssertGreaterThan(worst, 0, "the decode path should be the int8 kernels")
        let ids = try XCTUnwrap(first)
        XCTAssertEqual(
            try stored.generateGreedy(prompt: ids, maxTokens: 12, stopTokens: []),
            try reference.generateGreedy(prompt: ids, maxTokens: 12, stopTokens: []))
    }

    /// `--activation-quantization all` on the Q4_K_M file: prefill runs the int8 GEMM on its Q4_K,
    /// Q6_K and Q8_0 matrices (the Q5_0 ones through their row kernels) and stays within the
    /// int8 tolerance of the fp32 model at every position of every fixture prompt. Measured: worst
    /// KL(fp32 ‖ stored) 0.027–0.035, mean 0.004, max |Δlogit| 3.0–3.2 (early positions, as for SmolLM2 in
    /// `StoredWeightsTests.testPrefillWithInt8GEMMStaysClose`); bounds: worst KL < 0.06, mean KL
    /// < 0.015, the same argmax at each prompt's last position.
    func testStoredPrefillWithInt8GEMMStaysClose() throws {
        let reference = try model().model
        let url = TestEnvironment.packageRoot.appendingPathComponent("models/gemma-3-270m-Q4_K_M.gguf")
        let stored = try DecoderModel.load(from: url, weights: .stored)
        let saved = WeightMatrix.activationQuantization
        WeightMatrix.activationQuantization = .all
        defer { WeightMatrix.activationQuantization = saved }
        let fixture = try TestSupport.json("gemma3_270m_reference.json")
        var worstKL = 0.0, worst: Float = 0, totalKL = 0.0, positions = 0
        for case let prompt as [String: Any] in fixture.list("prompts") {
            let ids = prompt.list("ids").ints
            let a = try stored.forward([ids], logits: .all), b = try reference.forward([ids], logits: .all)
            positions += ids.count
            for p in 0..<ids.count {
                let quantised = Array(a.row(sequence: 0, position: p)), full = Array(b.row(sequence: 0, position: p))
                let lseP = LogSoftmax.logSumExp(full, count: full.count)
                let lseQ = LogSoftmax.logSumExp(quantised, count: quantised.count)
                let kl = full.indices.reduce(0.0) { sum, i in
                    let lp = Double(full[i] - lseP), lq = Double(quantised[i] - lseQ)
                    return sum + exp(lp) * (lp - lq)
                }
                worstKL = max(worstKL, kl)
                totalKL += kl
                worst = max(worst, zip(quantised, full).map { abs($0 - $1) }.max()!)
                if p == ids.count - 1 {
                    XCTAssertEqual(LogSoftmax.argmax(quantised, count: quantised.count),
                                   LogSoftmax.argmax(full, count: full.count), prompt.string("name"))
                }
            }
        }
        let meanKL = totalKL / Double(max(positions, 1))
        print("gemma3-270m stored prefill (int8 GEMM) vs fp32: max |Δlogit| \(worst), KL worst \(worstKL) mean \(meanKL)")
        XCTAssertLessThan(worstKL, 0.06)
        XCTAssertLessThan(meanKL, 0.015)
        XCTAssertGreaterThan(worst, 5e-3, "prefill should have run the int8 kernels, not fp32 panels")
    }
}
