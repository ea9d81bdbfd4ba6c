import Foundation
import LocusEditing
import LocusInterventions
import LocusModel
import LocusTensor
import XCTest

/// ROME and FT-L on GPT-2 and GPT-J through the family-neutral MLP output projection: GPT-2's
/// Conv1D `c_proj` is stored (in, out) and transposed at load, so an edit made in (out, in)
/// terms must move the forward pass's MLP output by exactly the optimised δ; the edit raises
/// the target's probability; undo gives every weight of the model back bit for bit.
final class FamilyEditingTests: XCTestCase {
    let request = EditRequest(prompt: "ab cd ef", subject: "cd", target: "zq")

    func statistics(_ lm: LanguageModel, layer: Int) throws -> KeyStatistics {
        let chunks = seededTokens(count: 12, length: 24, seed: 31)
        return try KeyStatistics.compute(model: lm.model, layers: [layer], chunks: chunks)[layer]!
    }

    func targetScore(_ lm: LanguageModel, _ request: EditRequest? = nil) throws -> Double {
        let request = request ?? self.request
        let prompt = lm.tokenizer.encodePrompt(request.prompt)
        return try lm.model.scoreContinuations(
            prompt: prompt, continuations: [request.targetTokens(lm.tokenizer)])[0].total
    }

    /// At the last layer only the subject's own position reads the MLP output it changes, so
    /// there the subject ends the prompt.
    func checkROME(_ family: FamilyFixture, layer: Int) throws {
        let lm = try family.languageModel()
        let request =
            layer == lm.config.layerCount - 1
            ? EditRequest(prompt: "ef ab cd", subject: "cd", target: "zq") : self.request
        let before = WeightSnapshot(lm.model)
        var hyper = ROMEHyperparameters(layer: layer)
        // The fixtures have 32 positions: no generated context prefixes, the prompt alone.
        hyper.contextCount = 0
        hyper.contextStyle = .greedy
        hyper.steps = 12
        let stats = try statistics(lm, layer: layer)
        let subject = try SubjectPosition(text: request.prompt, subject: request.subject, tokenizer: lm.tokenizer)
        let site = ActivationSite.mlpOut(layer: layer)
        func mlpOutput() throws -> [Float] {
            let recorder = ActivationRecorder(sites: [site], positions: .indices([subject.lastSubjectToken]))
            _ = try lm.model.forward([subject.tokens], hooks: [recorder], logits: .none)
            return recorder.vector(at: site, position: subject.lastSubjectToken)!
        }
        let outputBefore = try mlpOutput()
        let scoreBefore = try targetScore(lm, request)

        let (backup, result) = try ROMEEditor(languageModel: lm).edit(request, hyper: hyper, statistics: stats)
        XCTAssertLessThan(result.losses.last!, result.losses.first!, "\(family)")
        XCTAssertTrue(allFinite(result.delta) && allFinite(result.key))
        XCTAssertGreaterThan(result.delta.map(abs).max()!, 1e-4)
        // The forward pass's MLP output at the edited key moved by δ: the edit is in the layout
        // the forward pass reads (a transposed update would not give this).
        let outputAfter = try mlpOutput()
        let scale = max(1, result.delta.map(abs).max()!)
        for i in 0..<lm.config.hiddenSize {
            XCTAssertEqual(outputAfter[i] - outputBefore[i], result.delta[i], accuracy: 2e-3 * scale, "\(family) [\(i)]")
        }
        XCTAssertGreaterThan(try targetScore(lm, request), scoreBefore, "\(family): the target got no likelier")
        let edited = WeightSnapshot(lm.model)
        XCTAssertEqual(edited.differences(from: before), ["\(layer).down"], "only the MLP output projection changes")

        backup.restore(into: lm.model)
        XCTAssertEqual(WeightSnapshot(lm.model).differences(from: before), [], "\(family) undo")
        XCTAssertEqual(try targetScore(lm, request), scoreBefore)
    }

    func testROMEOnGPT2() throws {
        try checkROME(.gpt2, layer: 0)
        try checkROME(.gpt2, layer: 1)
    }

    func testROMEOnGPTJ() throws {
        try checkROME(.gptj, layer: 0)
        try checkROME(.gptj, layer: 1)
    }

    /// Gemma-3 normalises the MLP output after the projection: ROME's δ of `.mlpOut` is not a
    /// rank-one change of that projection, and the editor says so instead of editing wrongly.
    func testROMERefusesAPostNormalisedMLPOutput() throws {
        let gemma = try FamilyFixture.model("gemma3")
        XCTAssertThrowsError(try ROMEEditor.checkEditable(gemma, layer: 0)) { error in
            XCTAssertTrue("\(error)".contains("Gemma-3") && "\(error)".contains("FT-L"), "\(error)")
        }
        XCTAssertNoThrow(try ROMEEditor.checkEditable(try FamilyFixture.model("gpt2"), layer: 1))
        XCTAssertThrowsError(try ROMEEditor.checkEditable(try FamilyFixture.model("gpt2"), layer: 2))
    }

    func checkFineTuning(_ family: FamilyFixture) throws {
        let lm = try family.languageModel()
        let before = WeightSnapshot(lm.model)
        let original = lm.model.weights.layers[1].mlpOutputProjection.materializeFloat32()
            .array(count: lm.config.hiddenSize * lm.config.intermediateSize)
        let scoreBefore = try targetScore(lm)
        var hyper = FineTuningHyperparameters(layer: 1)
        hyper.steps = 6
        hyper.learningRate = 1e-2
        hyper.normConstraint = 5e-3
        let (backup, losses) = try FineTuning.edit(request, languageModel: lm, hyper: hyper)
        XCTAssertLessThan(losses.last!, losses.first!, "\(family)")
        let after = lm.model.weights.layers[1].mlpOutputProjection.materializeFloat32()
            .array(count: original.count)
        let change = zip(after, original).map { abs($0 - $1) }.max()!
        XCTAssertGreaterThan(change, 0)
        XCTAssertLessThanOrEqual(change, 5e-3 + 1e-6)
        XCTAssertGreaterThan(try targetScore(lm), scoreBefore)
        XCTAssertEqual(WeightSnapshot(lm.model).differences(from: before), ["1.down"])
        backup.restore(into: lm.model)
        XCTAssertEqual(WeightSnapshot(lm.model).differences(from: before), [], "\(family) undo")
    }

    func testFineTuningOnGPT2() throws { try checkFineTuning(.gpt2) }
    func testFineTuningOnGPTJ() throws { try checkFineTuning(.gptj) }

    /// The gradient FT-L follows (∂ log p / ∂W of the MLP output projection, (out, in)) against
    /// central differences of the model's own log-probabilities.
    func checkProjectionGradient(_ family: FamilyFixture) throws {
        let model = try family.languageModel().model
        let c = model.config.hiddenSize, f = model.config.intermediateSize
        let input = seededTokens(count: 1, length: 9, seed: 5)[0]
        let targets = (4..<8).map { TokenTarget(sequence: 0, position: $0, token: input[$0 + 1]) }
        let tape = ForwardTape()
        func loss() throws -> Double {
            try model.forwardForTraining([input], targets: targets, tape: tape).reduce(0.0) { $0 + Double($1) }
        }
        for layer in 0..<model.config.layerCount {
            let selector = WeightSelector.mlpDown(layer: layer)
            _ = try loss()
            let g = model.backward(
                tape, logProbabilityGradients: [Float](repeating: 1, count: targets.count), sites: [],
                weights: [selector]
            ).weights[selector]!
            XCTAssertEqual(g.count, c * f)
            let w = model.weights.layers[layer].mlpOutputProjection.makeDense().pointer  // (C, F)
            // The entries with the largest gradients (well above finite-difference noise).
            let largest = g.indices.sorted { abs(g[$0]) > abs(g[$1]) }.prefix(6)
            for i in largest {
                let saved = w[i], e: Float = 1e-2
                w[i] = saved + e
                let plus = try loss()
                w[i] = saved - e
                let minus = try loss()
                w[i] = saved
                let numeric = (plus - minus) / Double(2 * e)
                XCTAssertEqual(
                    Double(g[i]), numeric, accuracy: 1e-3 + 2e-2 * abs(numeric),
                    "\(family) layer \(layer) W[\(i / f), \(i % f)]")
            }
        }
    }

    func testProjectionGradientOnGPT2() throws { try checkProjectionGradient(.gpt2) }
    func testProjectionGradientOnGPTJ() throws { try checkProjectionGradient(.gptj) }
}
