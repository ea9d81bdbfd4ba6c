import Foundation
import LocusInterventions
import LocusModel
import LocusTensor
import XCTest

/// The hand-written backward pass of the whole llama stack against central finite differences,
/// on the tiny random-weight checkpoint (2 layers, 4 query / 2 KV heads: GQA, RoPE, SwiGLU,
/// untied output). Loss: a weighted sum of target log-probabilities over a packed batch of two
/// sequences of different lengths.
///
/// Tolerance: |analytic − numeric| ≤ 2e-3 + 2e-2·|numeric| with ε = 1e-2 in float32; the
/// numeric estimate's truncation error is O(ε²) and its rounding error ~1e-6/ε.
final class BackwardTests: XCTestCase {
    let tokens = [[5, 17, 200, 33, 9, 250, 4], [77, 3, 140, 12]]
    let targets = [
        TokenTarget(sequence: 0, position: 3, token: 9), TokenTarget(sequence: 0, position: 6, token: 31),
        TokenTarget(sequence: 1, position: 1, token: 140), TokenTarget(sequence: 1, position: 3, token: 2),
        TokenTarget(sequence: 0, position: 6, token: 100),
    ]
    let weights: [Float] = [1.0, -0.5, 0.7, 1.3, 0.4]

    func model() throws -> DecoderModel {
        BLAS.setThreadCount(1)
        return try DecoderModel.load(from: TestSupport.fixtures.appendingPathComponent("tiny-llama"))
    }

    func loss(_ model: DecoderModel, hooks: [ActivationHook] = []) throws -> Double {
        let lp = try model.forwardForTraining(tokens, targets: targets, hooks: hooks, tape: ForwardTape())
        return zip(lp, weights).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }

    func check(_ numeric: Double, _ analytic: Float, _ what: String) {
        XCTAssertEqual(Double(analytic), numeric, accuracy: 2e-3 + 2e-2 * abs(numeric), what)
    }

    func testSiteGradientsMatchFiniteDifferences() throws {
        let model = try model()
        let sites: [ActivationSite] = [
            .residualPre(layer: 0), .residualMid(layer: 0), .attentionOut(layer: 1),
            .headOutput(layer: 0), .headOutput(layer: 1), .mlpHidden(layer: 0), .mlpOut(layer: 1),
            .residualPost(layer: 1),
        ]
        let tape = ForwardTape()
        let lp = try model.forwardForTraining(tokens, targets: targets, tape: tape)
        XCTAssertEqual(lp.count, targets.count)
        let grads = model.backward(tape, logProbabilityGradients: weights, sites: Set(sites))
        var rng = SeededGenerator(seed: 11)
        let e: Float = 1e-2
        for site in sites {
            let width = site.width(in: model.config)
            let g = try XCTUnwrap(grads.sites[site])
            for _ in 0..<6 {
                let s = Int(rng.next() % 2)
                let position = Int(rng.next() % UInt64(tokens[s].count))
                let column = Int(rng.next() % UInt64(width))
                func shifted(_ by: Float) -> ActivationHook {
                    SequenceFilter(
                        sequence: s,
                        inner: VectorAddition(
                            site: site, columnStart: column, vector: [by],
                            positions: .indices([position])))
                }
                let plus = try loss(model, hooks: [shifted(e)])
                let minus = try loss(model, hooks: [shifted(-e)])
                let row = grads.sequences[s].rowStart + position
                check((plus - minus) / Double(2 * e), g[row * width + column], "\(site) s\(s) p\(position) c\(column)")
            }
        }
    }

    func testWeightGradientsMatchFiniteDifferences() throws {
        let model = try model()
        let requested: Set<WeightSelector> = [.mlpDown(layer: 0), .attentionOutput(layer: 1)]
        let tape = ForwardTape()
        _ = try model.forwardForTraining(tokens, targets: targets, tape: tape)
        let grads = model.backward(
            tape, logProbabilityGradients: weights, sites: [], weights: requested)
        var rng = SeededGenerator(seed: 5)
        let e: Float = 1e-2
        for selector in requested {
            let buffer: FloatBuffer
            switch selector {
            case .mlpDown(let l): buffer = model.weights.layers[l].down
            case .attentionOutput(let l): buffer = model.weights.layers[l].output
            }
            let g = try XCTUnwrap(grads.weights[selector])
            XCTAssertEqual(g.count, buffer.count)
            for _ in 0..<8 {
                let i = Int(rng.next() % UInt64(buffer.count))
                let original = buffer[i]
                buffer[i] = original + e
                let plus = try loss(model)
                buffer[i] = original - e
                let minus = try loss(model)
                buffer[i] = original
                check((plus - minus) / Double(2 * e), g[i], "\(selector) [\(i)]")
            }
        }
    }

    /// Training after a cached prefix (issue 11: IPO with the evaluation's few-shot prompt, the
    /// prefix computed once): log-probs and, on the new tokens, site gradients equal those of
    /// running prefix + tokens whole with the same hook firing only after the prefix.
    func testCachedPrefixMatchesTheWholeSequence() throws {
        let model = try model()
        let prefix = [5, 17, 200, 33, 9, 61]
        let suffixes = [[250, 4, 61, 8, 2], [77, 3, 140]]
        let p = prefix.count
        let targets = [
            TokenTarget(sequence: 0, position: p, token: 4), TokenTarget(sequence: 0, position: p + 4, token: 31),
            TokenTarget(sequence: 1, position: p, token: 3), TokenTarget(sequence: 1, position: p + 2, token: 12),
            TokenTarget(sequence: 0, position: p + 2, token: 100),
        ]
        let w: [Float] = [1.0, -0.5, 0.7, 1.3, 0.4]
        let hook = VectorAddition(
            site: .headOutput(layer: 0), columnStart: 3, vector: [0.8, -0.4, 0.6], positions: .from([p, p]))
        let sites: [ActivationSite] = [
            .residualPre(layer: 0), .headOutput(layer: 0), .headOutput(layer: 1), .mlpHidden(layer: 0),
            .residualMid(layer: 1),
        ]
        let fullTape = ForwardTape()
        let lpFull = try model.forwardForTraining(
            suffixes.map { prefix + $0 }, targets: targets, hooks: [hook], tape: fullTape)
        let full = model.backward(fullTape, logProbabilityGradients: w, sites: Set(sites))

        let cache = KVCache(config: model.config, sequences: 1, capacity: p)
        _ = try model.forward([prefix], cache: cache, logits: .none)
        let cachedTape = ForwardTape()
        let lpCached = try model.forwardForTraining(
            suffixes, targets: targets, hooks: [hook], tape: cachedTape, prefix: cache)
        XCTAssertEqual(cachedTape.sequences.map(\.firstPosition), [p, p])
        XCTAssertEqual(cachedTape.sequences.map(\.rowCount), suffixes.map(\.count), "only the new tokens are run")
        let cached = model.backward(cachedTape, logProbabilityGradients: w, sites: Set(sites))
        for (a, b) in zip(lpFull, lpCached) { XCTAssertEqual(a, b, accuracy: 2e-5) }
        var compared = 0
        for site in sites {
            let width = site.width(in: model.config)
            let gf = try XCTUnwrap(full.sites[site]), gc = try XCTUnwrap(cached.sites[site])
            for s in suffixes.indices {
                for i in suffixes[s].indices {
                    let rf = full.sequences[s].rowStart + p + i, rc = cached.sequences[s].rowStart + i
                    for c in 0..<width {
                        let x = gf[rf * width + c], y = gc[rc * width + c]
                        XCTAssertEqual(y, x, accuracy: 1e-4 + 1e-3 * abs(x), "\(site) s\(s) i\(i) c\(c)")
                        compared += x != 0 ? 1 : 0
                    }
                }
            }
        }
        XCTAssertGreaterThan(compared, 100, "the gradients compared are not all zero")
        // The prefix cache is unchanged by training (it is reused by every step).
        XCTAssertEqual(cache.lengths, [p])
    }

    func testTrainingForwardAgreesWithInferenceForward() throws {
        let model = try model()
        let lp = try model.forwardForTraining(tokens, targets: targets, tape: ForwardTape())
        let logits = try model.forward(tokens, logits: .all)
        for (target, value) in zip(targets, lp) {
            let expected = logits.logProbability(of: target.token, sequence: target.sequence, position: target.position)
            XCTAssertEqual(value, expected, accuracy: 1e-6)
        }
    }
}

/// Applies `inner` only to one sequence of a packed batch (tests perturb one sequence).
private final class SequenceFilter: ActivationHook {
    let sequence: Int
    let inner: ActivationHook
    var sites: Set<ActivationSite> { inner.sites }
    init(sequence: Int, inner: ActivationHook) {
        self.sequence = sequence
        self.inner = inner
    }
    func visit(_ batch: ActivationBatch) {
        let span = batch.sequences[sequence]
        let one = ActivationBatch(
            site: batch.site, values: batch.values, width: batch.width, sequences: [span])
        inner.visit(one)
    }
}
