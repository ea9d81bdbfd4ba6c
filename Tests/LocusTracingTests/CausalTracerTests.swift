import Foundation
import LocusFigures
import LocusModel
import LocusTensor
import LocusTracing
import XCTest

final class CausalTracerTests: XCTestCase {
    let tokens = [5, 17, 42, 99, 7, 3, 200, 11]
    let subject = 2..<4

    func lastProbability(_ model: DecoderModel, _ tokens: [Int], hooks: [ActivationHook], answer: Int)
        throws -> Double
    {
        let logits = try model.forward([tokens], hooks: hooks, logits: .last)
        let row = logits.last(sequence: 0)
        let lse = LogSoftmax.logSumExp(row.baseAddress!, count: row.count)
        return Foundation.exp(Double(row[answer] - lse))
    }

    /// The batched, KV-cached grid equals running every (sample, cell) as its own full forward.
    func testBatchedGridMatchesOneRunPerCell() throws {
        let model = try TracingTestSupport.tiny()
        let answer = 9, samples = 3, scale: Float = 0.5, seed: UInt64 = 7
        let tracer = CausalTracer(model: model)
        let configuration = TraceConfiguration(window: 2, batchSequences: 7)
        let result = try tracer.trace(
            TraceRequest(tokens: tokens, subject: subject, answer: answer),
            corruption: .noise(scale: scale, samples: samples, seed: seed),
            configuration: configuration)
        let noise = CausalTracer.noise(
            scale: scale, samples: samples, seed: seed, subjectLength: subject.count,
            width: model.config.hiddenSize)
        // Clean activations for the naive reference.
        let sites = Set(TraceKind.allCases.flatMap { kind in
            (0..<2).flatMap { configuration.sites(kind: kind, layer: $0, layerCount: 2) }
        })
        let recorder = LocusInterventionsRecorder(sites: sites)
        _ = try model.forward([tokens], hooks: [recorder.hook], logits: .none)
        XCTAssertEqual(
            result.clean.probability, try lastProbability(model, tokens, hooks: [], answer: answer),
            accuracy: 1e-6)
        for (g, kind) in TraceKind.allCases.enumerated() {
            XCTAssertEqual(result.grids[g].kind, kind)
            for t in 0..<tokens.count {
                for l in 0..<2 {
                    let restore = configuration.sites(kind: kind, layer: l, layerCount: 2).map { ($0, t) }
                    var total = 0.0
                    for j in 0..<samples {
                        let hook = TraceHook(
                            noise: noise, subject: subject, noiseSample: [j],
                            restorations: [restore], clean: recorder.clean)
                        total += try lastProbability(model, tokens, hooks: [hook], answer: answer)
                    }
                    XCTAssertEqual(
                        result.grids[g].probability[t][l], total / Double(samples), accuracy: 2e-5,
                        "\(kind) t=\(t) l=\(l)")
                }
            }
        }
        // Before the subject nothing changes: exactly the corrupted score.
        XCTAssertEqual(result.grids[0].probability[0][1], result.corrupt.probability)
        // Restoring the last layer's output at the last token restores the clean answer.
        XCTAssertEqual(
            result.grids[0].probability[tokens.count - 1][1], result.clean.probability, accuracy: 1e-6)
        let effects = try XCTUnwrap(result.layerEffects(.hidden))
        XCTAssertEqual(effects[1], 1, accuracy: 1e-4)
    }

    /// Hase et al.'s whole-answer score (`TraceAnswerScore.wholeAnswer`): every cell equals
    /// running (prompt + the answer's later tokens) as its own forward with the same noise and
    /// restoration and multiplying the answer tokens' probabilities; with no continuation the
    /// grid is the first-token one.
    func testWholeAnswerScoreMatchesOneRunPerCell() throws {
        let model = try TracingTestSupport.tiny()
        let answer = 9, continuation = [33, 71], samples = 2, scale: Float = 0.5, seed: UInt64 = 7
        let tracer = CausalTracer(model: model)
        let configuration = TraceConfiguration(kinds: [.hidden, .mlp], window: 2, batchSequences: 5)
        let result = try tracer.trace(
            TraceRequest(tokens: tokens, subject: subject, answer: answer, continuation: continuation),
            corruption: .noise(scale: scale, samples: samples, seed: seed),
            configuration: configuration)
        XCTAssertEqual(result.continuation, continuation)
        let noise = CausalTracer.noise(
            scale: scale, samples: samples, seed: seed, subjectLength: subject.count,
            width: model.config.hiddenSize)
        let sites = Set([TraceKind.hidden, .mlp].flatMap { kind in
            (0..<2).flatMap { configuration.sites(kind: kind, layer: $0, layerCount: 2) }
        })
        let recorder = LocusInterventionsRecorder(sites: sites)
        _ = try model.forward([tokens], hooks: [recorder.hook], logits: .none)
        let full = tokens + continuation, t = tokens.count
        func wholeProbability(_ hooks: [ActivationHook]) throws -> Double {
            let logits = try model.forward([full], hooks: hooks, logits: .all)
            var total = 0.0
            for (k, token) in ([answer] + continuation).enumerated() {
                total += Double(logits.logProbability(of: token, sequence: 0, position: t - 1 + k))
            }
            return Foundation.exp(total)
        }
        XCTAssertEqual(result.clean.probability, try wholeProbability([]), accuracy: 1e-7)
        let first = try lastProbability(model, tokens, hooks: [], answer: answer)
        XCTAssertLessThan(result.clean.probability, first)  // a product with two more factors
        var corrupt = 0.0
        for j in 0..<samples {
            corrupt += try wholeProbability([
                TraceHook(noise: noise, subject: subject, noiseSample: [j], restorations: [[]], clean: [:])
            ])
        }
        XCTAssertEqual(result.corrupt.probability, corrupt / Double(samples), accuracy: 1e-7)
        for (g, kind) in [TraceKind.hidden, .mlp].enumerated() {
            for t in 0..<tokens.count {
                for l in 0..<2 {
                    let restore = configuration.sites(kind: kind, layer: l, layerCount: 2).map { ($0, t) }
                    var total = 0.0
                    for j in 0..<samples {
                        total += try wholeProbability([
                            TraceHook(
                                noise: noise, subject: subject, noiseSample: [j],
                                restorations: [restore], clean: recorder.clean)
                        ])
                    }
                    XCTAssertEqual(
                        result.grids[g].probability[t][l], total / Double(samples), accuracy: 1e-6,
                        "\(kind) t=\(t) l=\(l)")
                }
            }
        }
        // No continuation: bit-identical to the first-token trace.
        let plain = try tracer.trace(
            TraceRequest(tokens: tokens, subject: subject, answer: answer),
            corruption: .noise(scale: scale, samples: samples, seed: seed), configuration: configuration)
        let empty = try tracer.trace(
            TraceRequest(tokens: tokens, subject: subject, answer: answer, continuation: []),
            corruption: .noise(scale: scale, samples: samples, seed: seed), configuration: configuration)
        XCTAssertEqual(plain.grids, empty.grids)
        XCTAssertEqual(plain.clean.probability, first, accuracy: 1e-7)
    }

    func testNoiseIsSeededAndScaleIsThreeStd() throws {
        let model = try TracingTestSupport.tiny()
        let a = CausalTracer.noise(scale: 1, samples: 2, seed: 3, subjectLength: 2, width: 4)
        let b = CausalTracer.noise(scale: 1, samples: 2, seed: 3, subjectLength: 2, width: 4)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, CausalTracer.noise(scale: 1, samples: 2, seed: 4, subjectLength: 2, width: 4))
        let values = model.weights.embedding.array(count: 256 * 64).map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
        XCTAssertEqual(Double(CausalTracer.embeddingStandardDeviation(model)), std, accuracy: 1e-6)
    }

    /// Interchange: restoring the clean run's embeddings at the changed token gives the clean
    /// logit difference; cells before the changed token equal the corrupted score.
    func testInterchangeAndPatching() throws {
        let model = try TracingTestSupport.tiny()
        var other = tokens
        other[3] = 150
        let tracer = CausalTracer(model: model)
        let result = try tracer.trace(
            TraceRequest(tokens: tokens, subject: 3..<4, answer: 9, alternative: 20),
            corruption: .interchange(tokens: other),
            configuration: TraceConfiguration(kinds: [.hidden], hiddenBeforeBlock: true))
        let diff = try XCTUnwrap(result.grid(.hidden)?.logitDifference)
        XCTAssertEqual(diff[3][0], result.clean.logitDifference!, accuracy: 1e-5)
        XCTAssertEqual(diff[2][1], result.corrupt.logitDifference!)
        XCTAssertEqual(result.samples, 1)
        // Patching the last layer's output at the last token from the other prompt gives the
        // other prompt's answer scores.
        let patched = try tracer.interchangePatch(
            tokens: tokens, counterfactual: other, position: tokens.count - 1, layers: [0, 1],
            site: .residualPost(layer: 0), answer: 9, alternative: 20)
        XCTAssertEqual(patched[1], result.corrupt.logitDifference!, accuracy: 1e-5)
        XCTAssertThrowsError(
            try tracer.trace(
                TraceRequest(tokens: tokens, subject: 3..<4, answer: 9),
                corruption: .interchange(tokens: [1, 2]), configuration: TraceConfiguration()))
    }

    func testHeatMapMarksSubject() {
        let map = TraceHeatMap(
            values: [[0, 0.5], [1, 0.2]], tokenLabels: ["The", " Eiffel"], layerLabels: [0, 1],
            subject: 1..<2, title: "trace")
        let svg = map.svg()
        XCTAssertTrue(svg.contains(" Eiffel*"))
        XCTAssertTrue(svg.contains("class=\"subject\""))
        XCTAssertEqual(svg.components(separatedBy: "class=\"cell\"").count - 1, 4)
    }
}
