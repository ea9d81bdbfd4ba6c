import Foundation
import LocusEditing
import LocusInterventions
import LocusModel
import XCTest

final class ROMETests: XCTestCase {
    func downProjection(_ lm: LanguageModel, _ layer: Int) -> [Float] {
        lm.model.weights.layers[layer].down.array(
            count: lm.config.hiddenSize * lm.config.intermediateSize)
    }

    func tinyStatistics(_ lm: LanguageModel, layer: Int) throws -> KeyStatistics {
        let chunks = (0..<12).map { i in (0..<24).map { ($0 * 7 + i * 13) % 256 } }
        return try KeyStatistics.compute(model: lm.model, layers: [layer], chunks: chunks)[layer]!
    }

    /// C equals Σ k kᵀ / n over every recorded key; the disk format round-trips exactly.
    func testKeyStatisticsMatchRecordedKeysAndRoundTrip() throws {
        let lm = try EditingTestSupport.tiny()
        let chunks = [[1, 2, 3, 4, 5], [9, 8, 7, 6, 5, 4]]
        let stats = try KeyStatistics.compute(model: lm.model, layers: [0, 1], chunks: chunks, batch: 1)
        let site = ActivationSite.mlpHidden(layer: 1)
        let recorder = ActivationRecorder(sites: [site])
        _ = try lm.model.forward(chunks, hooks: [recorder], logits: .none)
        let keys = recorder.recorded[site]!.flatMap { $0 }
        let f = lm.config.intermediateSize, n = keys.count / f
        XCTAssertEqual(stats[1]!.count, 11)
        for (i, j) in [(0, 0), (3, 7), (95, 2)] {
            var sum = 0.0
            for r in 0..<n { sum += Double(keys[r * f + i]) * Double(keys[r * f + j]) }
            XCTAssertEqual(stats[1]!.secondMoment[i * f + j], sum / Double(n), accuracy: 1e-5)
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("locus-stats-\(getpid()).bin")
        try stats[1]!.write(to: url)
        let back = try KeyStatistics.read(from: url)
        XCTAssertEqual(back.secondMoment, stats[1]!.secondMoment)
        XCTAssertEqual(back.layer, 1)
        XCTAssertEqual(back.count, 11)
    }

    /// After the update W′k₀ = W k₀ + δ* (ROME's denominator: the unprefixed prompt's key), the
    /// target gets likelier, and undo restores the weights bit for bit.
    func testROMEEditHitsKeyAndUndoIsExact() throws {
        let lm = try EditingTestSupport.tiny()
        let layer = 0
        let before = downProjection(lm, layer)
        let editor = ROMEEditor(languageModel: lm)
        var hyper = ROMEHyperparameters(layer: layer)
        hyper.contextCount = 3
        hyper.contextStyle = .greedy  // the byte tokenizer has no start token to sample from
        hyper.steps = 10
        let request = EditRequest(prompt: "ab cd ef", subject: "cd", target: "zq")
        let stats = try tinyStatistics(lm, layer: layer)
        let target = request.targetTokens(lm.tokenizer)
        let prompt = lm.tokenizer.encode(request.prompt)
        let scoreBefore = try lm.model.scoreContinuations(prompt: prompt, continuations: [target])[0].total
        let (backup, result) = try editor.edit(request, hyper: hyper, statistics: stats)
        XCTAssertLessThan(result.losses.last!, result.losses.first!)
        let after = downProjection(lm, layer)
        let c = lm.config.hiddenSize, f = lm.config.intermediateSize
        for i in 0..<c {
            var old = 0.0, new = 0.0
            for j in 0..<f {
                old += Double(before[i * f + j]) * Double(result.promptKey[j])
                new += Double(after[i * f + j]) * Double(result.promptKey[j])
            }
            XCTAssertEqual(new, old + Double(result.delta[i]), accuracy: 1e-3)
        }
        let scoreAfter = try lm.model.scoreContinuations(prompt: prompt, continuations: [target])[0].total
        XCTAssertGreaterThan(scoreAfter, scoreBefore)
        backup.restore(into: lm.model)
        XCTAssertEqual(downProjection(lm, layer), before)  // bit-identical
        XCTAssertTrue(zip(downProjection(lm, layer), before).allSatisfy { $0.bitPattern == $1.bitPattern })
    }

    /// With `ROMEUpdateKey.averaged` the averaged key is the one mapped exactly: W′k̄ = W k̄ + δ*.
    func testAveragedUpdateKeyMapsTheAveragedKey() throws {
        let lm = try EditingTestSupport.tiny()
        let layer = 0
        let before = downProjection(lm, layer)
        var hyper = ROMEHyperparameters(layer: layer)
        hyper.contextCount = 3
        hyper.contextStyle = .greedy  // the byte tokenizer has no start token to sample from
        hyper.steps = 4
        hyper.updateKey = .averaged
        let request = EditRequest(prompt: "ab cd ef", subject: "cd", target: "zq")
        let (_, result) = try ROMEEditor(languageModel: lm).edit(
            request, hyper: hyper, statistics: try tinyStatistics(lm, layer: layer))
        XCTAssertNotEqual(result.key, result.promptKey)
        let after = downProjection(lm, layer)
        let c = lm.config.hiddenSize, f = lm.config.intermediateSize
        for i in 0..<c {
            var old = 0.0, new = 0.0
            for j in 0..<f {
                old += Double(before[i * f + j]) * Double(result.key[j])
                new += Double(after[i * f + j]) * Double(result.key[j])
            }
            XCTAssertEqual(new, old + Double(result.delta[i]), accuracy: 1e-3)
        }
    }

    /// FT-L moves the weights by at most ε and lowers the target NLL; undo is bit-identical.
    func testFineTuningRespectsConstraintAndUndo() throws {
        let lm = try EditingTestSupport.tiny()
        let before = downProjection(lm, 1)
        var hyper = FineTuningHyperparameters(layer: 1)
        hyper.steps = 5
        hyper.learningRate = 1e-2
        hyper.normConstraint = 1e-3
        let request = EditRequest(prompt: "hello", subject: "hell", target: "zz")
        let (backup, losses) = try FineTuning.edit(request, languageModel: lm, hyper: hyper)
        XCTAssertLessThan(losses.last!, losses.first!)
        let after = downProjection(lm, 1)
        let maxChange = zip(after, before).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(maxChange, 1e-3 + 1e-7)
        XCTAssertGreaterThan(maxChange, 0)
        backup.restore(into: lm.model)
        XCTAssertTrue(zip(downProjection(lm, 1), before).allSatisfy { $0.bitPattern == $1.bitPattern })
    }

    func testCholeskySolve() {
        let a: [Double] = [4, 2, 0, 2, 5, 1, 0, 1, 3]
        let l = LinearAlgebra.cholesky(a, n: 3)!
        let x = LinearAlgebra.choleskySolve(l, n: 3, [2, 9, 7])
        // Check A x = b.
        for i in 0..<3 {
            let ax = (0..<3).reduce(0.0) { $0 + a[i * 3 + $1] * x[$1] }
            XCTAssertEqual(ax, [2, 9, 7][i], accuracy: 1e-12)
        }
        XCTAssertNil(LinearAlgebra.cholesky([1, 2, 2, 1], n: 2))
    }
}
