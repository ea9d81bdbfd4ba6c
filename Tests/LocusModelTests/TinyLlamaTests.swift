import Foundation
import LocusCheckpoint
import LocusInterventions
import LocusModel
import LocusTensor
import XCTest

/// Tiny random-weight llama checkpoints in Hugging Face format (safetensors + config.json),
/// written by the reference script: F32 untied, F32 tied, F16 and BF16 storage.
///
/// These exercise the safetensors path, the Q/K permutation from rotate-half to adjacent-pair
/// RoPE, untied output and logits at every position. Tolerance 1e-4: values are O(1) and the
/// model has two layers, so float32 reordering error is ~1e-6.
final class TinyLlamaTests: XCTestCase {
    func check(_ name: String, weights: WeightStorage = .f32) throws {
        BLAS.setThreadCount(1)
        let folder = TestSupport.fixtures.appendingPathComponent(name, isDirectory: true)
        let model = try DecoderModel.load(from: folder, weights: weights)
        let reference = try TestSupport.json("\(name)/reference.json")
        for case let sequence as [String: Any] in reference.list("sequences") {
            let ids = sequence.list("ids").ints
            let logits = try model.forward([ids], logits: .all)
            for (p, row) in sequence.list("logits").enumerated() {
                let expected = (row as! [Any]).floats
                XCTAssertLessThan(
                    maxAbsDifference(logits.row(sequence: 0, position: p), expected), 1e-4,
                    "\(name) length \(ids.count) position \(p)")
            }
        }
        let greedy = reference.dict("greedy")
        let expected = greedy.list("greedy_ids").ints
        XCTAssertEqual(
            try model.generateGreedy(
                prompt: greedy.list("ids").ints, maxTokens: expected.count, stopTokens: []),
            expected, name)
    }

    func testUntiedFloat32() throws { try check("tiny-llama") }
    func testTiedFloat32() throws { try check("tiny-llama-tied") }
    func testFloat16Storage() throws { try check("tiny-llama-f16") }
    func testBFloat16Storage() throws { try check("tiny-llama-bf16") }

    /// `--weights stored` keeps a safetensors checkpoint's F16/BF16 matrices as F16/BF16 (Q/K
    /// rows reordered for the RoPE layout byte-wise) and gives the reference logits: F16/BF16
    /// widen to fp32 exactly, so the tolerance is the fp32 one. F32 checkpoints stay dense.
    func testHalfPrecisionSafetensorsStayStored() throws {
        for (name, type) in [("tiny-llama-f16", GGMLType.f16), ("tiny-llama-bf16", .bf16)] {
            try check(name, weights: .stored)
            let folder = TestSupport.fixtures.appendingPathComponent(name, isDirectory: true)
            let stored = try DecoderModel.load(from: folder, weights: .stored)
            let dense = try DecoderModel.load(from: folder, weights: .f32)
            let layer = stored.weights.layers[1], reference = dense.weights.layers[1]
            XCTAssertEqual(layer.qkvMatrix.storedTypes, [type, type, type], name)
            XCTAssertEqual(layer.downMatrix.type, type, name)
            XCTAssertEqual(stored.weights.unembeddingMatrix.type, type, name)
            XCTAssertEqual(
                stored.weights.residentBytes < dense.weights.residentBytes / 2 + 4096, true,
                "\(name): \(stored.weights.residentBytes) B stored vs \(dense.weights.residentBytes) B fp32")
            // Every Q/K/V row as fp32 equals the dense load's (the byte-wise RoPE reordering).
            let rows = layer.qkvMatrix.rows, columns = layer.qkvMatrix.columns
            var values = [Float](repeating: 0, count: rows * columns)
            layer.qkvMatrix.readRows(0..<rows, into: &values)
            XCTAssertEqual(values, Array(UnsafeBufferPointer(start: reference.qkv.pointer, count: rows * columns)), name)
        }
        let f32 = try DecoderModel.load(
            from: TestSupport.fixtures.appendingPathComponent("tiny-llama", isDirectory: true), weights: .stored)
        XCTAssertEqual(f32.weights.layers[0].qkvMatrix.type, .f32)
    }

    func testSiteNamesRoundTrip() {
        let sites: [ActivationSite] = [
            .residualPre(layer: 0), .residualMid(layer: 3), .residualPost(layer: 29),
            .attentionOut(layer: 1), .headOutput(layer: 12), .mlpHidden(layer: 5), .mlpOut(layer: 7),
            .queries(layer: 2), .keys(layer: 3), .values(layer: 4),
        ]
        for site in sites { XCTAssertEqual(ActivationSite(name: site.description), site) }
        XCTAssertEqual(ActivationSite(name: "blocks.9.attn.hook_z"), .headOutput(layer: 9))
        XCTAssertNil(ActivationSite(name: "blocks.x.attn.hook_z"))
        XCTAssertEqual(ActivationSite(name: "blocks.1.attn.hook_q"), .queries(layer: 1))
        XCTAssertNil(ActivationSite(name: "blocks.1.attn.hook_x"))
        XCTAssertNil(ActivationSite(name: "blocks.1.hook_z"))
    }

    func testQueryKeyValueSites() throws {
        BLAS.setThreadCount(1)
        let model = try DecoderModel.load(from: TestSupport.fixtures.appendingPathComponent("tiny-llama"))
        let tokens = [[5, 17, 200, 33, 9], [7, 8]]
        let plain = try model.forward(tokens, logits: .all)
        let plainRow = Array(plain.row(sequence: 0, position: 4))
        let recorder = ActivationRecorder(sites: [.queries(layer: 1), .keys(layer: 0), .values(layer: 1)])
        let recorded = try model.forward(tokens, hooks: [recorder], logits: .all)
        XCTAssertEqual(Array(recorded.row(sequence: 0, position: 4)), plainRow, "reading q/k/v changes nothing")
        XCTAssertEqual(recorder.recorded[.queries(layer: 1)]?[0].count, 5 * model.config.attentionWidth)
        XCTAssertEqual(recorder.recorded[.keys(layer: 0)]?[1].count, 2 * model.config.keyValueWidth)
        // z = softmax(qkᵀ)·V, so zero values give zero head outputs: the two edits must agree.
        let viaValues = try model.forward(tokens, hooks: [Zeroing(site: .values(layer: 0))], logits: .all)
        let viaHeads = try model.forward(tokens, hooks: [Zeroing(site: .headOutput(layer: 0))], logits: .all)
        XCTAssertLessThan(
            maxAbsDifference(viaValues.row(sequence: 0, position: 4), Array(viaHeads.row(sequence: 0, position: 4))), 1e-6)
        XCTAssertGreaterThan(maxAbsDifference(viaValues.row(sequence: 0, position: 4), plainRow), 1e-3)
    }

    func testMissingConfigIsAClearError() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent(
            "locus-no-config-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let source = TestSupport.fixtures.appendingPathComponent("tiny-llama/model.safetensors")
        try FileManager.default.copyItem(at: source, to: empty.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try DecoderModel.load(from: empty)) { error in
            XCTAssertTrue("\(error)".contains("config.json"), "\(error)")
        }
    }
}

/// Sets a whole site to zero (test helper).
private final class Zeroing: ActivationHook {
    let site: ActivationSite
    var sites: Set<ActivationSite> { [site] }
    init(site: ActivationSite) { self.site = site }
    func visit(_ batch: ActivationBatch) {
        batch.values.update(repeating: 0, count: batch.rowCount * batch.width)
    }
}
