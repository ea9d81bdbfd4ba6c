import Foundation
import LocusInterventions
import LocusModel
import LocusTracing
import XCTest

/// Causal tracing (METHODS.md §6) on GPT-2 and GPT-J: the batched, KV-cached grid against one
/// plain forward per (sample, cell), the noise, and restorations that must bring the clean run
/// back (the last layer's hidden state at the last token carries everything the logits read).
final class FamilyTracingTests: XCTestCase {
    let tokens = [5, 17, 42, 99, 7, 3, 200, 11]
    let subject = 2..<4
    let answer = 9

    func check(_ family: FamilyFixture) throws {
        let model = try family.languageModel().model
        let layers = model.config.layerCount, c = model.config.hiddenSize
        let unit = CausalTracer.embeddingStandardDeviation(model)
        XCTAssertTrue(unit.isFinite && unit > 0, "\(family) embedding std \(unit)")
        let scale = 3 * unit, samples = 3, seed: UInt64 = 7
        let configuration = TraceConfiguration(window: 2, batchSequences: 5)
        let result = try CausalTracer(model: model).trace(
            TraceRequest(tokens: tokens, subject: subject, answer: answer, alternative: 4),
            corruption: .noise(scale: scale, samples: samples, seed: seed), configuration: configuration)

        // Shape and finiteness of the result.
        XCTAssertEqual(result.grids.map(\.kind), TraceKind.allCases)
        for grid in result.grids {
            XCTAssertEqual(grid.probability.count, tokens.count)
            XCTAssertTrue(grid.probability.allSatisfy { $0.count == layers && allFinite($0) }, "\(family)")
            XCTAssertTrue(grid.logitDifference!.allSatisfy { $0.count == layers && allFinite($0) })
        }
        XCTAssertEqual(result.noiseScale, scale)
        // The noise is N(0, scale²) on the subject rows only, seeded.
        let noise = CausalTracer.noise(scale: scale, samples: samples, seed: seed, subjectLength: subject.count, width: c)
        XCTAssertEqual(noise, CausalTracer.noise(scale: scale, samples: samples, seed: seed, subjectLength: subject.count, width: c))
        let all = noise.flatMap { $0 }
        let std = (all.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(all.count)).squareRoot()
        XCTAssertEqual(std, Double(scale), accuracy: 0.15 * Double(scale))

        // Clean and corrupted scores are plain forwards; the noise moves p(answer).
        let clean = try lastProbability(model, tokens, token: answer)
        XCTAssertEqual(result.clean.probability, clean, accuracy: 1e-6)
        XCTAssertGreaterThan(abs(result.corrupt.probability - clean), 1e-6, "\(family): noise changed nothing")

        // Every cell against one plain forward per sample.
        let sites = Set(TraceKind.allCases.flatMap { kind in
            (0..<layers).flatMap { configuration.sites(kind: kind, layer: $0, layerCount: layers) }
        })
        let recorder = ActivationRecorder(sites: sites, positions: .all)
        _ = try model.forward([tokens], hooks: [recorder], logits: .none)
        var cleanValues: [ActivationSite: [Float]] = [:]
        for (site, values) in recorder.recorded { cleanValues[site] = values[0] }
        for (g, kind) in TraceKind.allCases.enumerated() {
            for t in 0..<tokens.count {
                for l in 0..<layers {
                    let restore = configuration.sites(kind: kind, layer: l, layerCount: layers).map { ($0, t) }
                    var total = 0.0
                    for j in 0..<samples {
                        let hook = TraceHook(
                            noise: noise, subject: subject, noiseSample: [j], restorations: [restore],
                            clean: cleanValues)
                        total += try lastProbability(model, tokens, hooks: [hook], token: answer)
                    }
                    XCTAssertEqual(
                        result.grids[g].probability[t][l], total / Double(samples), accuracy: 2e-5,
                        "\(family) \(kind) t=\(t) l=\(l)")
                }
            }
        }
        // Restoring the last block's output at the last token restores the clean answer exactly;
        // tokens before the subject see no noise (their cells are the corrupted score).
        let hidden = try XCTUnwrap(result.grid(.hidden))
        XCTAssertEqual(hidden.probability[tokens.count - 1][layers - 1], clean, accuracy: 1e-5)
        XCTAssertEqual(hidden.probability[0][0], result.corrupt.probability, accuracy: 1e-9)
        let effects = try XCTUnwrap(result.layerEffects(.hidden))
        XCTAssertEqual(effects[layers - 1], 1, accuracy: 1e-3)
    }

    func testGPT2() throws { try check(.gpt2) }
    func testGPTJ() throws { try check(.gptj) }

    /// A parallel block has no resid_mid: asking for it is refused by name, not misread.
    func testParallelBlockRefusesResidualMid() throws {
        let model = try FamilyFixture.gptj.languageModel().model
        let hook = ActivationRecorder(sites: [.residualMid(layer: 1)])
        XCTAssertThrowsError(try model.forward([tokens], hooks: [hook], logits: .none)) { error in
            XCTAssertTrue("\(error)".contains("blocks.1.hook_resid_mid"), "\(error)")
            XCTAssertTrue("\(error)".contains("parallel"), "\(error)")
        }
    }
}
