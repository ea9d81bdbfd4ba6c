import Foundation
import LocusModel
import LocusTensor
import LocusWeights
import XCTest

/// The real SmolLM2-135M-Instruct Q4_1 checkpoint with its matrices kept stored (`.stored`)
/// against the fp32 reference (`.f32`, the model `SmolLM2ParityTests` pins to PyTorch).
///
/// Prefill and backward dequantise panels of the stored blocks exactly and run sgemm, so they
/// must meet the PyTorch parity tolerance itself (2e-3 on logits). Decode (one row) runs the
/// quantised kernels on an 8-bit activation (`WeightMatrix`); its logits may move by the
/// activation rounding (llama.cpp's trade too): measured on three steps, max |Δlogit| 0.64 over
/// the 49,152 logits, less on the top 10; bounds below are KL(fp32 ‖ stored) < 0.01, top-10
/// |Δ| < 0.5, any |Δ| < 1.5, and the greedy token must not change.
final class StoredWeightsTests: XCTestCase {
    nonisolated(unsafe) static var stored: DecoderModel?

    func storedModel() throws -> DecoderModel {
        BLAS.setThreadCount(1)
        if let stored = Self.stored { return stored }
        let model = try DecoderModel.load(from: try TestSupport.modelURL(), weights: .stored)
        Self.stored = model
        return model
    }

    let prompt = [1, 504, 3458, 282, 4649, 314, 7042, 30, 378, 3458, 282, 4649, 314]

    func testStoredTypesAndResidentMemory() throws {
        let stored = try storedModel()
        let reference = try TestSupport.smolLM().model
        let layer = stored.weights.layers[0]
        XCTAssertNotEqual(layer.gateUpMatrix.type, .f32)
        XCTAssertNotEqual(layer.qkvMatrix.type, .f32)
        XCTAssertLessThan(stored.weights.residentBytes * 4, reference.weights.residentBytes)
    }

    func testPrefillMatchesFloat32() throws {
        let stored = try storedModel()
        let reference = try TestSupport.smolLM().model
        let a = try stored.forward([prompt], logits: .all)
        let b = try reference.forward([prompt], logits: .all)
        for p in 0..<prompt.count {
            let difference = maxAbsDifference(
                a.row(sequence: 0, position: p), b.row(sequence: 0, position: p))
            XCTAssertLessThan(difference, 2e-3, "position \(p)")
        }
    }

    func testDecodeWithQuantisedKernelsStaysClose() throws {
        let stored = try storedModel()
        let reference = try TestSupport.smolLM().model
        var worst: Float = 0, worstTop: Float = 0, worstKL = 0.0
        let cache = KVCache(config: stored.config, sequences: 1, capacity: 64)
        _ = try stored.forward([Array(prompt.dropLast(3))], cache: cache)
        for step in 0..<3 {
            let token = prompt[prompt.count - 3 + step]
            let decoded = Array(try stored.forward([[token]], cache: cache).last(sequence: 0))
            let full = Array(try reference.forward([Array(prompt.prefix(prompt.count - 2 + step))])
                .last(sequence: 0))
            worst = max(worst, maxAbsDifference(decoded, full))
            let top = full.indices.sorted { full[$0] > full[$1] }.prefix(10)
            worstTop = max(worstTop, top.map { abs(decoded[$0] - full[$0]) }.max()!)
            let lseP = LogSoftmax.logSumExp(full, count: full.count)
            let lseQ = LogSoftmax.logSumExp(decoded, count: decoded.count)
            let kl = full.indices.reduce(0.0) { sum, i in
                let lp = Double(full[i] - lseP), lq = Double(decoded[i] - lseQ)
                return sum + exp(lp) * (lp - lq)
            }
            worstKL = max(worstKL, kl)
            XCTAssertEqual(
                LogSoftmax.argmax(decoded, count: decoded.count),
                LogSoftmax.argmax(full, count: full.count), "step \(step)")
        }
        print("stored decode vs fp32: max |Δlogit| \(worst), top-10 \(worstTop), KL \(worstKL)")
        XCTAssertLessThan(worstKL, 0.01)
        XCTAssertLessThan(worstTop, 0.5)
        XCTAssertLessThan(worst, 1.5)
        XCTAssertGreaterThan(worst, 0, "the decode path should be the quantised kernel")
    }

    /// `--activation-quantization all`: prefill runs the int8 GEMM (Q4_1 blocks, 8-bit activation
    /// per 32 values) and carries the int8 decode tolerance at every position. Measured against
    /// the fp32 model on this 13-token prompt: worst KL(fp32 ‖ stored) 0.013–0.041 (at position 1,
    /// the BOS token's successor; the value moves with the kernel's float summation order, which
    /// flips a few 8-bit roundings downstream; ≤ 0.008 elsewhere, mean 0.006–0.007), max |Δlogit|
    /// 1.57–1.70, top-10 0.84–0.87; the
    /// one-token-at-a-time int8 decode path (row kernels) shows the same kind of error at the
    /// same positions (KL 0.022 at position 1, max 1.58), which `testDecodeWithQuantisedKernelsStaysClose`
    /// does not see because it checks the last three steps only. Bounds: worst KL < 0.06 and
    /// < 3 × the decode path's worst + 0.005, mean KL < 0.015, top-10 |Δ| < 1.25, any |Δ| < 2.5.
    func testPrefillWithInt8GEMMStaysClose() throws {
        let stored = try storedModel()
        let reference = try TestSupport.smolLM().model
        let saved = WeightMatrix.activationQuantization
        WeightMatrix.activationQuantization = .all
        defer { WeightMatrix.activationQuantization = saved }
        func kl(_ full: [Float], _ other: [Float]) -> Double {
            let lseP = LogSoftmax.logSumExp(full, count: full.count)
            let lseQ = LogSoftmax.logSumExp(other, count: other.count)
            return full.indices.reduce(0.0) { sum, i in
                let lp = Double(full[i] - lseP), lq = Double(other[i] - lseQ)
                return sum + exp(lp) * (lp - lq)
            }
        }
        let a = try stored.forward([prompt], logits: .all)
        let b = try reference.forward([prompt], logits: .all)
        var worst: Float = 0, worstTop: Float = 0, worstKL = 0.0, meanKL = 0.0
        for p in 0..<prompt.count {
            let quantised = Array(a.row(sequence: 0, position: p)), full = Array(b.row(sequence: 0, position: p))
            worst = max(worst, maxAbsDifference(quantised, full))
            let top = full.indices.sorted { full[$0] > full[$1] }.prefix(10)
            worstTop = max(worstTop, top.map { abs(quantised[$0] - full[$0]) }.max()!)
            let divergence = kl(full, quantised)
            worstKL = max(worstKL, divergence)
            meanKL += divergence / Double(prompt.count)
        }
        // The same positions through the int8 decode path, one token at a time.
        var decodeWorstKL = 0.0
        let cache = KVCache(config: stored.config, sequences: 1, capacity: prompt.count)
        for p in 0..<prompt.count {
            let decoded = Array(try stored.forward([[prompt[p]]], cache: cache).last(sequence: 0))
            decodeWorstKL = max(decodeWorstKL, kl(Array(b.row(sequence: 0, position: p)), decoded))
        }
        print("stored prefill (int8 GEMM) vs fp32: max |Δlogit| \(worst), top-10 \(worstTop), KL worst \(worstKL) "
              + "mean \(meanKL); int8 decode path worst KL \(decodeWorstKL)")
        XCTAssertLessThan(worstKL, 0.06)
        XCTAssertLessThan(worstKL, 3 * decodeWorstKL + 0.005)
        XCTAssertLessThan(meanKL, 0.015)
        XCTAssertLessThan(worstTop, 1.25)
        XCTAssertLessThan(worst, 2.5)
        XCTAssertGreaterThan(worst, 2e-3, "prefill should have run the int8 GEMM, not fp32 panels")
    }

    /// `WeightMatrix.activationQuantization = .none` (the parity switch): decode dequantises W
    /// panel by panel and multiplies the fp32 activation, so it meets prefill's 2e-3.
    func testDecodeWithFloatActivationsMatchesFloat32() throws {
        let stored = try storedModel()
        let reference = try TestSupport.smolLM().model
        let saved = WeightMatrix.activationQuantization
        WeightMatrix.activationQuantization = .none
        defer { WeightMatrix.activationQuantization = saved }
        let cache = KVCache(config: stored.config, sequences: 1, capacity: 64)
        _ = try stored.forward([Array(prompt.dropLast(3))], cache: cache)
        for step in 0..<3 {
            let decoded = Array(try stored.forward([[prompt[prompt.count - 3 + step]]], cache: cache)
                .last(sequence: 0))
            let full = Array(try reference.forward([Array(prompt.prefix(prompt.count - 2 + step))])
                .last(sequence: 0))
            XCTAssertLessThan(maxAbsDifference(decoded, full), 2e-3, "step \(step)")
        }
    }

    /// Greedy decoding with the int8 kernels, teacher-forced along the fp32 model's 24 greedy
    /// tokens: at every step the stored model picks the fp32 model's token, except where the fp32
    /// top-2 margin is below 0.5 (the top-10 tolerance above), where 8-bit activations may flip a
    /// near tie (llama.cpp's decode has the same property). Free-running generation therefore
    /// equals fp32 until the first such tie.
    func testGreedyTokensMatchFloat32() throws {
        let stored = try storedModel()
        let reference = try TestSupport.smolLM().model
        XCTAssertEqual(WeightMatrix.activationQuantization, .decode)
        let tokens = try reference.generateGreedy(prompt: prompt, maxTokens: 24, stopTokens: [])
        let cache = KVCache(config: stored.config, sequences: 1, capacity: prompt.count + 32)
        var next = prompt, ties = 0
        for (step, token) in tokens.enumerated() {
            let decoded = Array(try stored.forward([next], cache: cache).last(sequence: 0))
            let full = Array(try reference.forward([prompt + tokens.prefix(step)]).last(sequence: 0))
            let order = full.indices.sorted { full[$0] > full[$1] }
            XCTAssertEqual(order[0], token)
            let margin = full[order[0]] - full[order[1]]
            let pick = LogSoftmax.argmax(decoded, count: decoded.count)
            if pick != token {
                ties += 1
                XCTAssertLessThan(margin, 0.5, "step \(step): stored picked \(pick), fp32 \(token)")
            }
            next = [token]
        }
        print("stored greedy vs fp32: \(ties) near-tie flips in \(tokens.count) steps")
        XCTAssertLessThanOrEqual(ties, 2)
    }

    /// Steering-style gradients (toward activation sites) through stored weights.
    func testSiteGradientsMatchFloat32() throws {
        let stored = try storedModel()
        let reference = try TestSupport.smolLM().model
        let targets = [TokenTarget(sequence: 0, position: 5, token: 7042),
                       TokenTarget(sequence: 0, position: 12, token: 30)]
        let sites: Set<ActivationSite> = [.headOutput(layer: 10), .residualPre(layer: 2)]
        var results: [[ActivationSite: [Float]]] = []
        for model in [stored, reference] {
            let tape = ForwardTape()
            _ = try model.forwardForTraining([prompt], targets: targets, tape: tape)
            results.append(model.backward(tape, logProbabilityGradients: [1, -0.5], sites: sites).sites)
        }
        for site in sites {
            let a = try XCTUnwrap(results[0][site]), b = try XCTUnwrap(results[1][site])
            let scale = b.map(abs).max()!
            XCTAssertGreaterThan(scale, 0)
            XCTAssertLessThan(maxAbsDifference(a, b), 1e-3 * scale, "\(site)")
        }
    }

    /// An edit's fp32 view converts only that matrix, to the exact dequantised values.
    func testEditViewMaterialisesOneMatrix() throws {
        let model = try DecoderModel.load(from: try TestSupport.modelURL(), weights: .stored)
        let reference = try TestSupport.smolLM().model
        let before = model.weights.residentBytes
        let down = model.weights.layers[4].down
        XCTAssertEqual(model.weights.layers[4].downMatrix.type, .f32)
        XCTAssertNotEqual(model.weights.layers[5].downMatrix.type, .f32)
        XCTAssertEqual(down.array(), reference.weights.layers[4].down.array())
        let c = model.config.hiddenSize, f = model.config.intermediateSize
        XCTAssertGreaterThan(model.weights.residentBytes, before)
        XCTAssertLessThanOrEqual(model.weights.residentBytes - before, 4 * c * f)
    }
}
