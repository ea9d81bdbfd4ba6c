import Foundation
import LocusData
import LocusEvaluation
import LocusInterventions
import LocusModel
import LocusProbing
import LocusTestSupport
import XCTest

/// ITI on GPT-2 and GPT-J: head activations collected batched equal single runs, mass-mean
/// directions from them, MC evaluation of a few hand-written questions with the edit, and the
/// edit baked into the attention output projection's bias (GPT-2's existing bias added to,
/// GPT-J's created) giving the hook's scores, then undone exactly.
final class FamilyProbingTests: XCTestCase {
    /// Short hand-written questions (the fixtures have 32 positions), true and false answers.
    let questions: [(question: String, true: String, false: String)] = [
        ("Is ice cold?", "Yes.", "No."),
        ("Is fire wet?", "No.", "Yes."),
        ("Do fish swim?", "Yes.", "No."),
        ("Can rocks sing?", "No.", "Yes."),
    ]

    var samples: [ProbeSample] {
        questions.enumerated().flatMap { i, q in
            [
                ProbeSample(questionID: i, choice: 0, label: true, text: ProbePromptFormat.iti.render(question: q.question, answer: q.true)),
                ProbeSample(questionID: i, choice: 1, label: false, text: ProbePromptFormat.iti.render(question: q.question, answer: q.false)),
            ]
        }
    }

    var mcQuestions: [TruthfulQAQuestion] {
        questions.enumerated().map { i, q in
            TruthfulQAQuestion(
                id: i, type: "hand-written", category: "test", question: q.question, bestAnswer: q.true,
                correctAnswers: [q.true], incorrectAnswers: [q.false], source: "FamilyProbingTests")
        }
    }

    func check(_ family: FamilyFixture) throws {
        let lm = try family.languageModel()
        let config = lm.config
        let d = config.headWidth
        let activations = try HeadActivationCollector(model: lm, tokensPerBatch: 40).collect(
            samples, format: .iti, modelFile: family.rawValue, modelSHA256: "fixture")
        XCTAssertEqual(activations.header.sampleCount, samples.count)
        XCTAssertEqual(activations.header.headCount, config.headCount)
        for s in [0, samples.count - 1] {
            let ids = lm.tokenizer.encodePrompt(samples[s].text)
            XCTAssertLessThanOrEqual(ids.count, 32)
            for l in 0..<config.layerCount {
                let recorder = ActivationRecorder(sites: [.headOutput(layer: l)], positions: .last)
                _ = try lm.model.forward([ids], hooks: [recorder], logits: .none)
                let single = recorder.vector(at: .headOutput(layer: l), position: ids.count - 1)!
                let batched = activations.withLayer(l) { Array($0[(s * config.attentionWidth)..<((s + 1) * config.attentionWidth)]) }
                XCTAssertLessThan(maxAbsDifference(single, batched), 1e-4, "\(family) sample \(s) layer \(l)")
            }
        }
        // Mass-mean directions and σ of two heads (layer 0 head 1, layer 1 head 2), α = 6.
        let all = Array(samples.indices), labels = samples.map(\.label)
        let shifts = [(0, 1), (1, 2)].map { l, h -> HeadShift in
            let x = activations.head(layer: l, head: h, samples: all)
            let direction = DirectionStatistics.massMean(x: x, labels: labels, columns: d)
            let sigma = DirectionStatistics.projectionStd(x: x, direction: direction, columns: d)
            XCTAssertTrue(allFinite(direction) && sigma.isFinite && sigma > 0, "\(family) L\(l)H\(h)")
            return HeadShift(layer: l, head: h, direction: direction.map(Float.init), sigma: sigma)
        }
        let edit = ITIEdit(alpha: 6, heads: shifts, headWidth: d, directionKind: .massMean, selection: "test")

        let evaluator = try MultipleChoiceEvaluator(model: lm, prompt: TruthfulQAPrompt(instruction: nil, primer: ""))
        let plain = try evaluator.evaluate(mcQuestions)
        let iti = try evaluator.evaluate(
            mcQuestions, intervention: .standard(name: "ITI") { [edit.hook(positions: $0)] })
        for run in [plain, iti] {
            XCTAssertEqual(run.results.count, mcQuestions.count)
            XCTAssertTrue(run.results.allSatisfy { allFinite($0.trueScores + $0.falseScores) })
            XCTAssertTrue([run.mean.mc1, run.mean.mc2, run.mean.mc3].allSatisfy { $0 >= 0 && $0 <= 1 })
        }
        let moved = zip(plain.results, iti.results).map { abs($0.trueScores[0] - $1.trueScores[0]) }.max()!
        XCTAssertGreaterThan(moved, 1e-4, "\(family): the ITI edit changed no score")

        // The same edit as a bias at every position: the hook on z, and the bake into o_proj's
        // bias, score the same.
        // editsPrompt: the question rows are computed with the hook too, as the bias acts there.
        let everywhere = Intervention(name: "ITI at every position", editsPrompt: true, positions: [:]) { _ in
            [edit.hook(positions: .all)]
        }
        let hooked = try evaluator.evaluate(mcQuestions, intervention: everywhere)
        let before = WeightSnapshot(lm.model)
        let previousBias = lm.model.weights.layers[1].attentionOutputBiasSnapshot()
        XCTAssertEqual(previousBias != nil, family == .gpt2, "GPT-2 has an o_proj bias, GPT-J none")
        let bias = AttentionOutputBias(edit: edit, model: lm.model)
        let backup = bias.bake(into: lm.model)
        let baked = lm.model.weights.layers[1].attentionOutputBiasSnapshot()!
        let added = bias.layers.first { $0.layer == 1 }!.bias
        for o in 0..<config.hiddenSize {
            XCTAssertEqual(baked[o], (previousBias?[o] ?? 0) + added[o], "\(family) bias[\(o)] is added to")
        }
        let bakedRun = try MultipleChoiceEvaluator(model: lm, prompt: TruthfulQAPrompt(instruction: nil, primer: ""))
            .evaluate(mcQuestions)
        for (a, b) in zip(hooked.results, bakedRun.results) {
            for (x, y) in zip(a.trueScores + a.falseScores, b.trueScores + b.falseScores) {
                XCTAssertEqual(x, y, accuracy: 1e-3, "\(family) baked vs hooked")
            }
        }
        XCTAssertEqual(
            Set(WeightSnapshot(lm.model).differences(from: before)), ["0.outputBias", "1.outputBias"])
        backup.restore(into: lm.model)
        XCTAssertEqual(WeightSnapshot(lm.model).differences(from: before), [], "\(family) undo")
        if family == .gptj { XCTAssertNil(lm.model.weights.layers[1].outputBias, "the created bias is gone") }
        let again = try MultipleChoiceEvaluator(model: lm, prompt: TruthfulQAPrompt(instruction: nil, primer: ""))
            .evaluate(mcQuestions)
        XCTAssertEqual(again.results.map(\.trueScores), plain.results.map(\.trueScores))
    }

    func testGPT2() throws { try check(.gpt2) }
    func testGPTJ() throws { try check(.gptj) }

    /// The bake on every family fixture equals the head hook on the logits, and its undo is
    /// exact (o_proj bias created for llama, Qwen2, GPT-J and Gemma-3, added to for GPT-2;
    /// Gemma-3's post-attention norm follows the bias, so only the bake is the o_proj bias there).
    func testBakeEqualsHeadHookOnEveryFamily() throws {
        for family in FamilyFixture.allFamilies {
            let model = try FamilyFixture.model(family)
            let d = model.config.headWidth
            let direction = (0..<d).map { Float(sin(Double($0) + 1)) }
            let edit = ITIEdit(
                alpha: 4, heads: [HeadShift(layer: 1, head: 1, direction: direction, sigma: 0.5)],
                headWidth: d, directionKind: .massMean, selection: "test")
            let ids = seededTokens(count: 2, length: 7, seed: 3)
            let hooked = try model.forward(ids, hooks: [edit.hook(positions: .all)], logits: .all)
            let plain = try model.forward(ids, logits: .all)
            let before = WeightSnapshot(model)
            let backup = AttentionOutputBias(edit: edit, model: model).bake(into: model)
            let baked = try model.forward(ids, logits: .all)
            var gap: Float = 0, moved: Float = 0
            for s in 0..<2 {
                for p in 0..<7 {
                    gap = max(gap, maxAbsDifference(hooked.row(sequence: s, position: p), baked.row(sequence: s, position: p)))
                    moved = max(moved, maxAbsDifference(hooked.row(sequence: s, position: p), plain.row(sequence: s, position: p)))
                }
            }
            XCTAssertLessThan(gap, 1e-4, family)
            XCTAssertGreaterThan(moved, 1e-3, family)
            backup.restore(into: model)
            XCTAssertEqual(WeightSnapshot(model).differences(from: before), [], family)
            let restored = try model.forward(ids, logits: .all)
            XCTAssertEqual(
                Array(restored.row(sequence: 1, position: 6)), Array(plain.row(sequence: 1, position: 6)), family)
        }
    }
}
