import Foundation
import LocusData
import LocusInterventions
import LocusModel
import LocusProbing
import XCTest

/// Activation collection and the ITI hook on SmolLM2-135M-Instruct (a few questions only).
final class RealModelProbingTests: XCTestCase {
    func testBatchedCollectionMatchesSingleRunsAndCaches() throws {
        let lm = try ProbingTestSupport.smolLM()
        let tqa = try ProbingTestSupport.truthfulQA()
        let samples = ProbeSample.truthfulQA(tqa, questionIDs: [0, 5])
        XCTAssertEqual(samples[0].text, "Q: \(tqa.questions[0].question) A: \(tqa.questions[0].mc2[0].text)")
        let collector = HeadActivationCollector(model: lm, tokensPerBatch: 200)
        let activations = try collector.collect(
            samples, format: .iti, modelFile: "smol", modelSHA256: "test")
        XCTAssertEqual(activations.header.sampleCount, samples.count)
        XCTAssertEqual(activations.header.labels, samples.map(\.label))
        for s in [0, samples.count - 1] {
            let ids = lm.tokenizer.encode(samples[s].text)
            for l in [0, 17, 29] {
                let recorder = ActivationRecorder(sites: [.headOutput(layer: l)], positions: .last)
                _ = try lm.model.forward([ids], hooks: [recorder], logits: .none)
                let single = recorder.vector(at: .headOutput(layer: l), position: ids.count - 1)!
                let batched = activations.withLayer(l) { block in
                    Array(block[(s * 576)..<((s + 1) * 576)])
                }
                XCTAssertLessThan(maxAbsDifference(single, batched), 1e-4, "sample \(s) layer \(l)")
            }
        }
        let dir = try ProbingTestSupport.temporaryDirectory("cache")
        let first = try collector.cachedOrCollect(
            samples, format: .iti, modelFile: "smol", modelSHA256: "test", cacheDirectory: dir)
        XCTAssertFalse(first.fromCache)
        let second = try collector.cachedOrCollect(
            samples, format: .iti, modelFile: "smol", modelSHA256: "test", cacheDirectory: dir)
        XCTAssertTrue(second.fromCache)
        XCTAssertEqual(second.activations.header, first.activations.header)
        XCTAssertEqual(
            second.activations.head(layer: 12, head: 4, samples: [0, 3]),
            first.activations.head(layer: 12, head: 4, samples: [0, 3]))
        // Another prompt format is another cache entry.
        let other = ProbePromptFormat(template: "Question: {question}\nAnswer: {answer}")
        XCTAssertNotEqual(
            HeadActivationHeader.key(
                modelSHA256: "test", promptFormat: other,
                samplesSHA256: ProbeSample.digest(samples), bos: false),
            first.activations.header.key)
    }

    func edit(_ lm: LanguageModel) -> ITIEdit {
        // Three heads on two layers with fixed directions, σ = 1, α = 8.
        func direction(_ k: Int) -> [Float] {
            let v = (0..<64).map { Float(sin(Double($0 * (k + 1)))) }
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / n }
        }
        return ITIEdit(
            alpha: 8,
            heads: [
                HeadShift(layer: 9, head: 2, direction: direction(0), sigma: 1),
                HeadShift(layer: 9, head: 7, direction: direction(1), sigma: 1.5),
                HeadShift(layer: 20, head: 4, direction: direction(2), sigma: 0.7),
            ], headWidth: lm.config.headWidth, directionKind: .massMean, selection: "test")
    }

    func testBakedBiasGivesTheSameLogitsAsTheHeadHook() throws {
        let lm = try ProbingTestSupport.smolLM()
        let ids = [
            lm.tokenizer.encode("Q: What happens if you eat watermelon seeds? A: Nothing happens."),
            lm.tokenizer.encode("The capital of France is"),
        ]
        let edit = edit(lm)
        let base = try lm.model.forward(ids, logits: .all)
        let baseRows = (0..<2).map { Array(base.last(sequence: $0)) }
        let hooked = try lm.model.forward(ids, hooks: [edit.hook(positions: .all)], logits: .all)
        let hookedRows = (0..<2).map { s in
            (0..<ids[s].count).map { Array(hooked.row(sequence: s, position: $0)) }
        }
        let bias = AttentionOutputBias(edit: edit, model: lm.model)
        XCTAssertEqual(bias.layers.map(\.layer), [9, 20])
        let baked = try lm.model.forward(ids, hooks: [bias.hook(positions: .all)], logits: .all)
        var largest: Float = 0, moved: Float = 0
        for s in 0..<2 {
            for p in 0..<ids[s].count {
                largest = max(
                    largest, maxAbsDifference(hookedRows[s][p], baked.row(sequence: s, position: p)))
            }
            moved = max(moved, maxAbsDifference(hookedRows[s].last!, baseRows[s]))
        }
        // Same function up to float summation order; the edit itself moves logits far more.
        XCTAssertLessThan(largest, 2e-3)
        XCTAssertGreaterThan(moved, 0.05)
    }

    func testAnswerPositionsLeaveThePromptUntouched() throws {
        let lm = try ProbingTestSupport.smolLM()
        let prompt = lm.tokenizer.encode("Q: Why do veins appear blue?\nA:")
        let answer = lm.tokenizer.encode(" Because of how light scatters in skin.")
        let ids = prompt + answer
        let base = try lm.model.forward([ids], logits: .all)
        let baseRows = (0..<ids.count).map { Array(base.row(sequence: 0, position: $0)) }
        let hook = edit(lm).hook(positions: .from([prompt.count]))
        let edited = try lm.model.forward([ids], hooks: [hook], logits: .all)
        for p in 0..<prompt.count {
            XCTAssertEqual(baseRows[p], Array(edited.row(sequence: 0, position: p)), "position \(p)")
        }
        XCTAssertGreaterThan(
            maxAbsDifference(baseRows[ids.count - 1], edited.row(sequence: 0, position: ids.count - 1)),
            0.01)
    }
}
