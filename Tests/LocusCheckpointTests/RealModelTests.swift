@testable import LocusCheckpoint
import Foundation
import XCTest

/// The real SmolLM2-135M-Instruct Q4_1 checkpoint (see DATA.md). Its absence is a failure, not a
/// skip: every machine that runs the tests must have fetched it.
final class RealModelTests: XCTestCase {
    static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    /// `$LOCUS_MODEL`, or `models/<fileName>` in the package root.
    static var modelURL: URL {
        if let path = ProcessInfo.processInfo.environment["LOCUS_MODEL"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // LocusCheckpointTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // package root
            .appendingPathComponent("models")
            .appendingPathComponent(fileName)
    }

    struct MissingModel: Error, CustomStringConvertible {
        let path: String
        var description: String {
            "missing \(path): run scripts/fetch-model.sh to fetch it (or set LOCUS_MODEL)"
        }
    }

    private func openModel() throws -> GGUFFile {
        let url = Self.modelURL
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw MissingModel(path: url.path)
        }
        return try GGUFFile(url: url)
    }

    func testHeaderAndMetadata() throws {
        let file = try openModel()
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.fileSize, 98_362_432)
        XCTAssertEqual(file.alignment, 32)
        XCTAssertEqual(file.string("general.architecture"), "llama")
        XCTAssertEqual(file.int("llama.block_count"), 30)
        XCTAssertEqual(file.int("llama.embedding_length"), 576)
        XCTAssertEqual(file.int("llama.feed_forward_length"), 1536)
        XCTAssertEqual(file.int("llama.attention.head_count"), 9)
        XCTAssertEqual(file.int("llama.attention.head_count_kv"), 3)
        XCTAssertEqual(file.double("llama.rope.freq_base"), 100_000)
        XCTAssertEqual(file.double("llama.attention.layer_norm_rms_epsilon"), Double(Float(1e-5)))
        XCTAssertEqual(file.metadataKeys.count, 33)
        XCTAssertEqual(file.string("tokenizer.ggml.model"), "gpt2")
        XCTAssertEqual(file.string("tokenizer.ggml.pre"), "smollm")
        XCTAssertEqual(file.stringArray("tokenizer.ggml.tokens")?.count, 49152)
        XCTAssertEqual(file.stringArray("tokenizer.ggml.merges")?.count, 48900)
        XCTAssertEqual(file.intArray("tokenizer.ggml.token_type")?.count, 49152)
        XCTAssertNotNil(file.int("tokenizer.ggml.bos_token_id"))
        XCTAssertNotNil(file.int("tokenizer.ggml.eos_token_id"))
        XCTAssertTrue(file.string("tokenizer.chat_template")?.contains("<|im_start|>") == true)
    }

    func testTensorInventory() throws {
        let file = try openModel()
        XCTAssertEqual(file.tensorInfos.count, 272)  // 30 blocks × 9 + token_embd + output_norm
        let counts = Dictionary(grouping: file.tensorInfos, by: \.type).mapValues(\.count)
        XCTAssertEqual(counts, [.f32: 61, .q8_0: 1, .q4_1: 210])
        let embedding = try XCTUnwrap(file.tensorInfo(named: "token_embd.weight"))
        XCTAssertEqual(embedding.shape, [49152, 576])
        XCTAssertEqual(embedding.type, .q8_0)
        XCTAssertEqual(embedding.offset, file.dataOffset)
        XCTAssertEqual(file.shape(of: "blk.0.ffn_down.weight"), [576, 1536])
        XCTAssertEqual(file.shape(of: "blk.0.attn_k.weight"), [192, 576])
        XCTAssertEqual(file.tensorInfo(named: "blk.29.attn_q.weight")?.type, .q4_1)
        XCTAssertEqual(file.tensorInfo(named: "output_norm.weight")?.type, .f32)
        for block in 0..<30 {
            XCTAssertTrue(file.contains("blk.\(block).attn_norm.weight"), "block \(block)")
        }
        XCTAssertFalse(file.contains("blk.30.attn_norm.weight"))
    }

    func testDequantisedTensorsAreSane() throws {
        let file = try openModel()
        for name in ["token_embd.weight", "blk.0.attn_q.weight", "blk.29.ffn_down.weight"] {
            let info = try XCTUnwrap(file.tensorInfo(named: name))
            let values = try file.floats(named: name)
            XCTAssertEqual(values.count, info.elementCount)
            var (sum, squares, finite) = (0.0, 0.0, true)
            for value in values {
                finite = finite && value.isFinite
                sum += Double(value)
                squares += Double(value) * Double(value)
            }
            let mean = sum / Double(values.count)
            let std = (squares / Double(values.count) - mean * mean).squareRoot()
            XCTAssertTrue(finite, name)
            XCTAssertLessThan(abs(mean), 0.05, name)
            XCTAssertTrue((0.005...1).contains(std), "\(name): std \(std)")

            // The fast kernel against the naive twin on the real bytes of the first 16 rows.
            let rowLength = try XCTUnwrap(info.shape.last)
            let rowBytes = try XCTUnwrap(info.type.byteCount(elements: rowLength))
            let raw = [UInt8](try file.rawData(named: name).prefix(16 * rowBytes))
            let naive = try XCTUnwrap(Dequantizer.naive(info.type, bytes: raw,
                                                        count: 16 * rowLength))
            XCTAssertEqual(values[..<naive.count].map(\.bitPattern), naive.map(\.bitPattern), name)
        }
        let norm = try file.floats(named: "blk.0.attn_norm.weight")
        XCTAssertEqual(norm.count, 576)
        XCTAssertTrue(norm.allSatisfy { $0.isFinite && $0 != 0 })

        // Into a caller's buffer: the same bits as the array.
        let shape = try XCTUnwrap(file.shape(of: "blk.3.ffn_up.weight"))
        var buffer = [Float](repeating: .nan, count: shape.reduce(1, *))
        try buffer.withUnsafeMutableBufferPointer {
            try file.floats(named: "blk.3.ffn_up.weight", into: $0)
        }
        XCTAssertEqual(buffer.map(\.bitPattern),
                       try file.floats(named: "blk.3.ffn_up.weight").map(\.bitPattern))
        var wrong = [Float](repeating: 0, count: 3)
        let error = checkpointError(about: file.url) {
            try wrong.withUnsafeMutableBufferPointer {
                try file.floats(named: "blk.3.ffn_up.weight", into: $0)
            }
        }
        guard case .shapeMismatch = error?.problem else {
            return XCTFail("\(String(describing: error))")
        }
    }

    /// Dequantises every tensor and reports the time (run in release for the real figure).
    func testDequantiseEverything() throws {
        let file = try openModel()
        let start = Date()
        var elements = 0
        for name in file.tensorNames {
            let values = try file.floats(named: name)
            elements += values.count
        }
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(elements, file.tensorInfos.reduce(0) { $0 + $1.elementCount })
        print(String(format: "dequantised %d tensors, %d elements in %.3f s",
                     file.tensorInfos.count, elements, seconds))
    }
}
