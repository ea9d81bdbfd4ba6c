import Foundation
import LocusInterventions
import LocusModel
import LocusTensor
import XCTest

/// Each family's seeded random-weight checkpoint as transformers saves it (config.json +
/// model.safetensors; `scripts/reference/make_family_fixtures.py`), against PyTorch: logits at
/// every position of three sequences within 1e-4 relative, a 20-token greedy chain equal, every
/// site of every layer within 1e-4, and the backward pass (site and weight gradients of a
/// log-likelihood) against autograd.
final class FamilyParityTests: XCTestCase {
    static let families = ["qwen2", "gpt2", "gptj", "gemma3"]

    func folder(_ family: String) -> URL {
        TestSupport.fixtures.appendingPathComponent("families/\(family)", isDirectory: true)
    }

    func load(_ family: String) throws -> (LlamaModel, [String: Any]) {
        BLAS.setThreadCount(1)
        let model = try LlamaModel.load(from: folder(family))
        let reference = try TestSupport.json("families/\(family)/reference.json")
        return (model, reference)
    }

    /// max |a − b| / max(1, max |b|): the relative error of a row of O(1)…O(10) values.
    func relative(_ a: some Collection<Float>, _ b: [Float]) -> Float {
        let scale = max(1, b.map(abs).max() ?? 0)
        return maxAbsDifference(a, b) / scale
    }

    func checkLogits(_ family: String) throws {
        let (model, reference) = try load(family)
        XCTAssertEqual(model.family.rawValue, family)
        for case let sequence as [String: Any] in reference.list("sequences") {
            let ids = sequence.list("ids").ints
            let logits = try model.forward([ids], logits: .all)
            for (p, row) in sequence.list("logits").enumerated() {
                XCTAssertLessThan(
                    relative(logits.row(sequence: 0, position: p), (row as! [Any]).floats), 1e-4,
                    "\(family) length \(ids.count) position \(p)")
            }
        }
        let greedy = reference.dict("greedy")
        let expected = greedy.list("greedy_ids").ints
        XCTAssertEqual(expected.count, 20)
        XCTAssertEqual(
            try model.generateGreedy(
                prompt: greedy.list("ids").ints, maxTokens: expected.count, stopTokens: []),
            expected, "\(family) greedy")
    }

    func checkSites(_ family: String) throws {
        let (model, reference) = try load(family)
        let sites = reference.dict("sites")
        let ids = sites.list("ids").ints
        let values = sites.dict("values")
        var wanted: [ActivationSite: [[Float]]] = [:]
        for (name, rows) in values {
            let site = try XCTUnwrap(ActivationSite(name: name), name)
            wanted[site] = (rows as! [Any]).map { ($0 as! [Any]).floats }
        }
        XCTAssertEqual(
            wanted.count, model.config.layerCount * (model.config.architecture.hasResidualMid ? 7 : 6))
        let recorder = ActivationRecorder(sites: Set(wanted.keys))
        _ = try model.forward([ids], hooks: [recorder], logits: .none)
        for (site, rows) in wanted {
            for (p, row) in rows.enumerated() {
                let got = try XCTUnwrap(recorder.vector(at: site, position: p), "\(site)")
                XCTAssertLessThan(relative(got, row), 1e-4, "\(family) \(site) position \(p)")
            }
        }
    }

    func testQwen2Logits() throws { try checkLogits("qwen2") }
    func testQwen2Sites() throws { try checkSites("qwen2") }
    func testGPT2Logits() throws { try checkLogits("gpt2") }
    func testGPT2Sites() throws { try checkSites("gpt2") }
    func testGPTJLogits() throws { try checkLogits("gptj") }
    func testGPTJSites() throws { try checkSites("gptj") }
    func testGemma3Logits() throws { try checkLogits("gemma3") }
    func testGemma3Sites() throws { try checkSites("gemma3") }

    /// A parallel block has no residual stream between attention and MLP: hooking it throws.
    func testParallelBlockRefusesResidualMid() throws {
        let (model, _) = try load("gptj")
        XCTAssertFalse(model.config.architecture.hasResidualMid)
        let recorder = ActivationRecorder(sites: [.residualMid(layer: 0)])
        XCTAssertThrowsError(try model.forward([[5, 6, 7]], hooks: [recorder])) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("blocks.0.hook_resid_mid") && text.contains("parallel"), text)
        }
    }

    /// Recording every site leaves the logits bit-identical in every family.
    func testRecordingDoesNotChangeLogits() throws {
        for family in Self.families {
            let (model, reference) = try load(family)
            let ids = reference.dict("sites").list("ids").ints
            let plain = Array(try model.forward([ids], logits: .all).last(sequence: 0))
            let sites = Set((0..<model.config.layerCount).flatMap { l -> [ActivationSite] in
                [.residualPre(layer: l), .attentionOut(layer: l), .headOutput(layer: l),
                 .mlpHidden(layer: l), .mlpOut(layer: l), .residualPost(layer: l)]
            })
            let recorded = try model.forward(
                [ids], hooks: [ActivationRecorder(sites: sites)], logits: .all)
            XCTAssertEqual(Array(recorded.last(sequence: 0)), plain, family)
        }
    }

    /// Batching and the KV cache: two sequences of different lengths in one call, and a
    /// prefix + continuation through a cache, give the single-sequence logits.
    func testBatchAndCacheMatchSingleSequences() throws {
        for family in Self.families {
            let (model, reference) = try load(family)
            let sequences = reference.list("sequences").map { ($0 as! [String: Any]).list("ids").ints }
            let single = try sequences.map { Array(try model.forward([$0]).last(sequence: 0)) }
            let batched = try model.forward(sequences)
            for s in sequences.indices {
                XCTAssertLessThan(
                    maxAbsDifference(batched.last(sequence: s), single[s]), 1e-5, "\(family) batch \(s)")
            }
            let ids = sequences[2]
            let cache = KVCache(config: model.config, sequences: 1, capacity: ids.count)
            _ = try model.forward([Array(ids.prefix(5))], cache: cache)
            let continued = try model.forward([Array(ids.dropFirst(5))], cache: cache)
            XCTAssertLessThan(
                maxAbsDifference(continued.last(sequence: 0), single[2]), 1e-5, "\(family) cache")
        }
    }
}

/// The backward pass of every variant (LayerNorm, GELU, GeGLU, biases, partial rotary,
/// parallel block, q/k norms, sandwich norms, query scale, soft-cap) against PyTorch autograd:
/// ∂(Σ log p(targets))/∂(every site) and ∂/∂(MLP and attention output projections).
final class FamilyBackwardTests: XCTestCase {
    func check(_ family: String) throws {
        BLAS.setThreadCount(1)
        let folder = TestSupport.fixtures.appendingPathComponent("families/\(family)")
        let model = try LlamaModel.load(from: folder)
        let reference = try TestSupport.json("families/\(family)/reference.json").dict("backward")
        let ids = reference.list("ids").ints
        let targets = reference.list("targets").map { item -> TokenTarget in
            let t = item as! [String: Any]
            return TokenTarget(
                sequence: 0, position: (t["position"] as! NSNumber).intValue,
                token: (t["token"] as! NSNumber).intValue)
        }
        let tape = ForwardTape()
        let logProbabilities = try model.forwardForTraining([ids], targets: targets, tape: tape)
        let total = logProbabilities.reduce(0, +)
        XCTAssertEqual(total, reference.float("log_likelihood"), accuracy: 1e-4 * max(1, abs(total)))
        var sites: [ActivationSite: [[Float]]] = [:]
        for (name, rows) in reference.dict("site_gradients") {
            sites[try XCTUnwrap(ActivationSite(name: name))] = (rows as! [Any]).map { ($0 as! [Any]).floats }
        }
        let layers = 0..<model.config.layerCount
        let weights = Set(layers.flatMap { [WeightSelector.mlpDown(layer: $0), .attentionOutput(layer: $0)] })
        let gradients = model.backward(
            tape, logProbabilityGradients: Array(repeating: 1, count: targets.count),
            sites: Set(sites.keys), weights: weights)
        var worst: Float = 0
        for (site, rows) in sites {
            let got = try XCTUnwrap(gradients.sites[site], "\(family) \(site)")
            let expected = rows.flatMap { $0 }
            let scale = max(1e-3, expected.map(abs).max() ?? 0)
            let error = maxAbsDifference(got, expected) / scale
            worst = max(worst, error)
            XCTAssertLessThan(error, 1e-4, "\(family) ∂\(site)")
        }
        for l in layers {
            for (key, selector) in [("mlp_down", WeightSelector.mlpDown(layer: l)),
                                    ("attention_output", .attentionOutput(layer: l))] {
                let expected = reference.dict("weight_gradients").list("\(key).\(l)").floats
                let got = try XCTUnwrap(gradients.weights[selector])
                let scale = max(1e-3, expected.map(abs).max() ?? 0)
                XCTAssertLessThan(maxAbsDifference(got, expected) / scale, 1e-4, "\(family) ∂W \(key).\(l)")
            }
        }
        print("\(family): worst relative site-gradient error \(worst)")
    }

    func testQwen2() throws { try check("qwen2") }
    func testGPT2() throws { try check("gpt2") }
    func testGPTJ() throws { try check("gptj") }
    func testGemma3() throws { try check("gemma3") }
}
