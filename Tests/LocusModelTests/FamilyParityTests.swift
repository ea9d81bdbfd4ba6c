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
    static let families = ["llama", "qwen2", "gpt2", "gptj", "gemma3"]
    /// The families whose fixture also holds an F16 GGUF in llama.cpp's converter layout.
    static let ggufFamilies = ["llama", "qwen2", "gemma3", "gpt2"]

    func folder(_ family: String) -> URL {
        TestSupport.fixtures.appendingPathComponent("families/\(family)", isDirectory: true)
    }

    func load(
        _ family: String, gguf: Bool = false, weights: WeightStorage = .f32
    ) throws -> (DecoderModel, [String: Any]) {
        BLAS.setThreadCount(1)
        let url = gguf ? folder(family).appendingPathComponent("\(family)-f16.gguf") : folder(family)
        let model = try DecoderModel.load(from: url, weights: weights)
        let reference = try TestSupport.json("families/\(family)/reference.json")
        return (model, reference)
    }

    /// max |a − b| / max(1, max |b|): the relative error of a row of O(1)…O(10) values.
    func relative(_ a: some Collection<Float>, _ b: [Float]) -> Float {
        let scale = max(1, b.map(abs).max() ?? 0)
        return maxAbsDifference(a, b) / scale
    }

    func checkLogits(_ family: String, gguf: Bool = false, weights: WeightStorage = .f32) throws {
        let (model, reference) = try load(family, gguf: gguf, weights: weights)
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

    func checkSites(_ family: String, gguf: Bool = false) throws {
        let (model, reference) = try load(family, gguf: gguf)
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

    func testLlamaLogits() throws { try checkLogits("llama") }
    func testLlamaSites() throws { try checkSites("llama") }
    func testQwen2Logits() throws { try checkLogits("qwen2") }
    func testQwen2Sites() throws { try checkSites("qwen2") }
    func testGPT2Logits() throws { try checkLogits("gpt2") }
    func testGPT2Sites() throws { try checkSites("gpt2") }
    func testGPTJLogits() throws { try checkLogits("gptj") }
    func testGPTJSites() throws { try checkSites("gptj") }
    func testGemma3Logits() throws { try checkLogits("gemma3") }
    func testGemma3Sites() throws { try checkSites("gemma3") }

    /// The same weights from the F16 GGUFs (llama: Q/K permuted by the converter; qwen2, gemma3:
    /// half-split, permuted at load; gemma3: norms stored as 1 + w, sliding pattern from
    /// `gemma3.attention.sliding_window_pattern`).
    func testGGUFLogitsAndSites() throws {
        for family in Self.ggufFamilies {
            try checkLogits(family, gguf: true)
            try checkSites(family, gguf: true)
        }
    }

    /// GPT-2's GGUF with its matrices kept stored: the converter already transposed the Conv1D
    /// weights, so they stay F16 (not transposed into fp32 as from safetensors), and prefill
    /// (fp32 panels) and greedy decode (`locus_matvec16`, F16 widened exactly) match PyTorch.
    func testGPT2GGUFStoredWeights() throws {
        let (model, _) = try load("gpt2", gguf: true, weights: .stored)
        let layer = model.weights.layers[0]
        for matrix in [layer.qkvMatrix, layer.outputMatrix, layer.gateUpMatrix, layer.downMatrix] {
            XCTAssertEqual(matrix.type, .f16)
        }
        XCTAssertEqual(model.weights.embeddingMatrix.type, .f16)
        XCTAssertTrue(model.config.tiedEmbeddings, "no output.weight: tied, as the converter writes it")
        XCTAssertEqual(model.config.architecture.mlp, .gelu(.tanh))
        XCTAssertEqual(model.config.intermediateSize, 128)
        XCTAssertEqual(model.config.contextLength, 32)
        try checkLogits("gpt2", gguf: true, weights: .stored)
    }

    /// Every 16-bit fixture with its matrices kept stored (F16 GGUFs; the fp16 safetensors of
    /// llama, qwen2, gemma3, Q/K rows permuted as bytes): prefill through fp32 panels, greedy
    /// decode through `locus_matvec16`, both against PyTorch like the fp32 loads.
    func testStoredSixteenBitWeightsMatchPyTorch() throws {
        for family in Self.ggufFamilies {
            try checkLogits(family, gguf: true, weights: .stored)
        }
        for family in ["llama", "qwen2", "gemma3"] {
            let (model, _) = try load(family, weights: .stored)
            XCTAssertEqual(model.weights.layers[0].qkvMatrix.storedTypes, [.f16, .f16, .f16], family)
            try checkLogits(family, weights: .stored)
        }
    }

    /// Every family loads with its tokenizer (tokenizer.json beside the safetensors), and
    /// `inspect`'s family name comes from the checkpoint.
    func testLanguageModelLoadsEveryFamily() throws {
        for family in Self.families {
            let lm = try LanguageModel.load(from: folder(family))
            XCTAssertEqual(lm.config.family.rawValue, family)
            XCTAssertFalse(lm.tokenizer.encode("hello world").isEmpty, family)
        }
        for family in Self.ggufFamilies {
            let lm = try LanguageModel.load(
                from: folder(family).appendingPathComponent("\(family)-f16.gguf"), weights: .stored)
            XCTAssertEqual(lm.config.family.rawValue, family)
        }
    }

    /// The family-neutral handles: the MLP output projection is (C, F) in every family (GPT-2's
    /// Conv1D transposed at load), and an attention output bias created where the family has
    /// none (GPT-J, llama) acts exactly like adding the vector to `attn_out`.
    func testMethodHandles() throws {
        for family in ["gpt2", "gptj", "llama"] {
            let (model, reference) = try load(family)
            let c = model.config.hiddenSize
            let layer = model.weights.layers[1]
            XCTAssertEqual(layer.mlpOutputProjection.rows, c)
            XCTAssertEqual(layer.mlpOutputProjection.columns, model.config.intermediateSize)
            XCTAssertEqual(layer.attentionOutputProjection.columns, model.config.attentionWidth)
            let ids = reference.dict("sites").list("ids").ints
            let shift = (0..<c).map { Float($0 % 7) * 0.05 - 0.15 }
            let hooked = Array(try model.forward(
                [ids], hooks: [AddToAllRows(site: .attentionOut(layer: 1), vector: shift)]
            ).last(sequence: 0))
            let bias = layer.attentionOutputBias()
            XCTAssertTrue(bias === layer.attentionOutputBias(), "created once")
            let saved = Array(UnsafeBufferPointer(start: bias.pointer, count: c))
            for i in 0..<c { bias.pointer[i] += shift[i] }
            let baked = Array(try model.forward([ids]).last(sequence: 0))
            for i in 0..<c { bias.pointer[i] = saved[i] }
            XCTAssertLessThan(maxAbsDifference(baked, hooked), 1e-5, family)
        }
    }

    /// Gemma-3's sliding window and final soft-cap change these logits (the fixture measured
    /// how much), so the logit parity above tests both.
    func testGemma3FeaturesAreExercised() throws {
        let (model, reference) = try load("gemma3")
        let effects = reference.dict("feature_effects").dict("max_abs_logit_change_without")
        XCTAssertGreaterThan(effects.float("sliding_window"), 0.1)
        XCTAssertGreaterThan(effects.float("final_logit_softcapping"), 0.1)
        XCTAssertEqual(model.config.architecture.slidingWindow, 4)
        XCTAssertEqual(model.config.architecture.slidingLayers, [0])
        XCTAssertEqual(model.config.architecture.finalLogitSoftCap, 3)
    }

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
        let model = try DecoderModel.load(from: folder)
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
        // The fixture hooks resid_mid at the MLP norm's input (where PyTorch exposes it), so
        // autograd's value there is only the norm branch's; the residual stream also carries
        // x₁ straight to the block output. ∂L/∂x₁ (what Locus reports) is the sum with ∂L/∂x₂.
        for case .residualMid(let l) in Array(sites.keys) {
            let post = try XCTUnwrap(sites[.residualPost(layer: l)])
            sites[.residualMid(layer: l)] = zip(sites[.residualMid(layer: l)]!, post).map {
                zip($0, $1).map { $0 + $1 }
            }
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

    func testLlama() throws { try check("llama") }
    func testQwen2() throws { try check("qwen2") }
    func testGPT2() throws { try check("gpt2") }
    func testGPTJ() throws { try check("gptj") }
    func testGemma3() throws { try check("gemma3") }

    /// Steering: per-head vectors v_L added to z at every position of layers 0 and L−1; the
    /// continuation's log-likelihood and ∂/∂v_L (= Σ_t ∂/∂z[t, h]) against autograd.
    func testSteeringGradients() throws {
        for family in FamilyParityTests.families {
            BLAS.setThreadCount(1)
            let folder = TestSupport.fixtures.appendingPathComponent("families/\(family)")
            let model = try DecoderModel.load(from: folder)
            let steering = try TestSupport.json("families/\(family)/reference.json").dict("steering")
            let prefix = steering.list("prefix").ints, continuation = steering.list("continuation").ints
            let ids = prefix + continuation
            let d = model.config.headWidth, h = model.config.headCount
            var hooks: [ActivationHook] = []
            var layers: [Int] = []
            for case let layer as NSNumber in steering.list("layers") {
                let l = layer.intValue
                layers.append(l)
                let vector = steering.dict("vectors").list("\(l)").flatMap { ($0 as! [Any]).floats }
                XCTAssertEqual(vector.count, h * d)
                hooks.append(AddToAllRows(site: .headOutput(layer: l), vector: vector))
            }
            let targets = (0..<continuation.count).map {
                TokenTarget(sequence: 0, position: prefix.count - 1 + $0, token: continuation[$0])
            }
            let tape = ForwardTape()
            let lp = try model.forwardForTraining([ids], targets: targets, hooks: hooks, tape: tape)
            let total = lp.reduce(0, +)
            XCTAssertEqual(total, steering.float("log_likelihood"), accuracy: 1e-4 * max(1, abs(total)), family)
            let gradients = model.backward(
                tape, logProbabilityGradients: Array(repeating: 1, count: targets.count),
                sites: Set(layers.map { ActivationSite.headOutput(layer: $0) }))
            for l in layers {
                let dz = try XCTUnwrap(gradients.sites[.headOutput(layer: l)])
                var dv = [Float](repeating: 0, count: h * d)
                for t in 0..<ids.count { for j in 0..<(h * d) { dv[j] += dz[t * h * d + j] } }
                let expected = steering.dict("gradients").list("\(l)").flatMap { ($0 as! [Any]).floats }
                let scale = max(1e-3, expected.map(abs).max() ?? 0)
                XCTAssertLessThan(maxAbsDifference(dv, expected) / scale, 1e-4, "\(family) ∂v_\(l)")
            }
        }
    }
}

/// Adds one vector to every row at one site (an additive edit: the backward pass passes the
/// gradient through it unchanged).
final class AddToAllRows: ActivationHook {
    let sites: Set<ActivationSite>
    let vector: [Float]

    init(site: ActivationSite, vector: [Float]) {
        sites = [site]
        self.vector = vector
    }

    func visit(_ batch: ActivationBatch) {
        for r in 0..<batch.rowCount {
            for j in 0..<batch.width { batch.values[r * batch.width + j] += vector[j] }
        }
    }
}
