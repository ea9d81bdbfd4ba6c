import Foundation
import LocusCore
import LocusInterventions
import LocusModel
import LocusScrubbing
import LocusTestSupport
import XCTest

/// Path patching and causal scrubbing through the seam. Path patching recomputes a receiving
/// head's q/k/v outside the forward pass, so it must use the family's norm (LayerNorm with bias
/// for GPT-2/GPT-J), its q/k/v biases (GPT-2, Qwen2) and, for Gemma-3, the post-attention norm
/// of the sender; checked on every family fixture against plain activation patching.
final class FamilyScrubbingTests: XCTestCase {
    let sender = AttentionHead(layer: 0, head: 1)

    func everyInput(of layer: Int, config: ModelConfig) -> [PathReceiver] {
        (0..<config.headCount).flatMap { h in
            HeadInput.allCases.map { PathReceiver(head: AttentionHead(layer: layer, head: h), input: $0) }
        }
    }

    /// With every q, k, v of layer 1 as receivers, layer 1's attention output under a path patch
    /// of head L0H1 equals the one under patching L0H1's z itself with layer 0's MLP output held
    /// clean (layer 1's attention then reads L0H1 only through its q, k, v). Also: a patch
    /// from the same input changes nothing.
    func testPathPatchEqualsActivationPatchingOnEveryFamily() throws {
        for family in FamilyFixture.allFamilies {
            let model = try FamilyFixture.model(family)
            let config = model.config
            let hd = config.attentionWidth, d = config.headWidth
            let inputs = seededTokens(count: 1, length: 7, seed: 14) + seededTokens(count: 1, length: 5, seed: 15)
            let z = ActivationSite.headOutput(layer: 0), mlp = ActivationSite.mlpOut(layer: 0)
            let out = ActivationSite.attentionOut(layer: 1)
            let clean = ActivationRecorder(sites: [z, mlp, out])
            _ = try model.forward(inputs, hooks: [clean], logits: .none)
            var rows = clean.recorded[z]![0]
            let source = clean.recorded[z]![1]
            for p in 0..<7 {
                let q = min(p, 4)  // start alignment
                for i in 0..<d { rows[p * hd + d + i] = source[q * hd + d + i] }
            }
            let ordinary = ActivationRecorder(sites: [out])
            _ = try model.forward(
                [inputs[0]],
                hooks: [
                    ActivationReplacement(site: z, positions: .all, replacement: [rows]),
                    ActivationReplacement(site: mlp, positions: .all, replacement: [clean.recorded[mlp]![0]]),
                    ordinary,
                ], logits: .none)
            let path = ActivationRecorder(sites: [out])
            let patch = PathPatch(
                model: model, sender: sender, receivers: everyInput(of: 1, config: config), sources: [1, nil])
            _ = try model.forward(inputs, hooks: [patch, path], logits: .none)
            let a = ordinary.recorded[out]![0], b = path.recorded[out]![0]
            XCTAssertEqual(a.count, b.count)
            XCTAssertLessThan(zip(a, b).map { abs($0 - $1) }.max()!, 1e-4, family)
            // The patch did something, and left the source sequence alone.
            XCTAssertGreaterThan(zip(a, clean.recorded[out]![0]).map { abs($0 - $1) }.max()!, 1e-4, family)
            XCTAssertEqual(path.recorded[out]![1], clean.recorded[out]![1], family)

            // From the same input, Δ = 0: recomputing every q, k, v of layer 1 leaves the logits.
            let x = inputs[0]
            let plain = try model.forward([x], logits: .all)
            let same = try model.forward(
                [x], hooks: [PathPatch(model: model, sender: sender, receivers: everyInput(of: 1, config: config), sources: [0])],
                logits: .all)
            for p in 0..<x.count {
                XCTAssertLessThan(maxAbsDifference(plain.row(sequence: 0, position: p), same.row(sequence: 0, position: p)), 1e-4, family)
            }
        }
    }

    func scrubSettings(seed: UInt64 = 5) -> ScrubSettings {
        var s = ScrubSettings()
        s.seed = seed
        s.depth = 1
        s.tokensPerCall = 64
        return s
    }

    /// Naming every component recovers the model; naming none resamples embeddings (positions
    /// included for GPT-2), every head's z and every MLP from one random input: exactly the model
    /// on that input.
    func checkScrub(_ family: FamilyFixture) throws {
        let model = try family.languageModel().model
        let data = InductionTask.items(count: 6, length: 6, seed: 21, tokenRange: 3..<250, bos: 1)
        let scrubber = CausalScrubber(model: model, items: data, settings: scrubSettings())
        let clean = try scrubber.modelScores()
        let all = try scrubber.scores(.everything(in: model.config))
        for (a, b) in zip(all, clean) { XCTAssertEqual(a, b, accuracy: 1e-4, "\(family)") }
        let none = try scrubber.scores(.empty)
        XCTAssertTrue(allFinite(none))
        for i in data.indices {
            let x = data[i].sequences[0]
            let matches = data.indices.filter { j in
                guard j != i, let logits = try? model.forward([data[j].sequences[0]], logits: .all) else { return false }
                let s = data[i].score { _, t in logits.logProbability(of: x[t], sequence: 0, position: t - 1) }
                return abs(s - none[i]) < 1e-3
            }
            XCTAssertEqual(matches.count, 1, "\(family) item \(i)")
        }
        XCTAssertEqual(Bootstrap.recovered(model: clean, scrubbed: all, random: none), 1, accuracy: 1e-3)
    }

    func testScrubOnGPT2() throws { try checkScrub(.gpt2) }
    func testScrubOnGPTJ() throws { try checkScrub(.gptj) }

    /// A hypothesis naming resid_mid of a parallel block is refused by name.
    func testResidualMidComponentRefusedForParallelBlocks() throws {
        let component = try Component(parsing: "resid_mid1@-1")
        let gptj = try FamilyFixture.model("gptj")
        XCTAssertThrowsError(try component.check(config: gptj.config)) { error in
            XCTAssertTrue("\(error)".contains("parallel"), "\(error)")
        }
        XCTAssertNoThrow(try component.check(config: try FamilyFixture.model("gpt2").config))
    }
}
