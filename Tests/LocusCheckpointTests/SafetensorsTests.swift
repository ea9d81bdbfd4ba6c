import Foundation
import LocusCheckpoint
import XCTest

final class SafetensorsTests: XCTestCase {
    private var files: TemporaryFiles!

    override func setUpWithError() throws { files = try TemporaryFiles() }
    override func tearDown() { files = nil }

    static let values: [Float] = [1, -2, 0.5, 3.25, -0.125, 1024]

    private func sampleBuilder() -> SafetensorsBuilder {
        var builder = SafetensorsBuilder()
        builder.metadata = ["format": "pt"]
        builder.tensors = [
            .init(name: "h.f32", dtype: "F32", shape: [2, 3],
                  data: SafetensorsBuilder.bytes(of: Self.values)),
            .init(name: "h.f16", dtype: "F16", shape: [3, 2],
                  data: SafetensorsBuilder.bytes(ofHalves: Self.values)),
            .init(name: "h.bf16", dtype: "BF16", shape: [6],
                  data: SafetensorsBuilder.bytes(ofBFloat16s: Self.values)),
            .init(name: "ids", dtype: "I64", shape: [2], data: .init(repeating: 1, count: 16)),
        ]
        return builder
    }

    func testReadsFloatDtypesAndListsTheRest() throws {
        let url = try files.write(sampleBuilder().build(), to: "model.safetensors")
        let file = try SafetensorsFile(url: url)
        XCTAssertEqual(file.tensorNames, ["h.f32", "h.f16", "h.bf16", "ids"])
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(file.shape(of: "h.f32"), [2, 3])
        XCTAssertEqual(file.shape(of: "h.f16"), [3, 2])
        for name in ["h.f32", "h.f16", "h.bf16"] {
            XCTAssertEqual(try file.floats(named: name), Self.values, name)
        }
        let error = checkpointError(about: url) { _ = try file.floats(named: "ids") }
        XCTAssertEqual(error?.problem, .unsupportedTensorType(tensor: "ids", type: "I64"))
        let missing = checkpointError(about: url) { _ = try file.floats(named: "nope") }
        XCTAssertEqual(missing?.problem, .missingTensor("nope"))
    }

    func testUnknownDtypeOpensButCannotBeRead() throws {
        var builder = sampleBuilder()
        builder.tensors.append(.init(name: "odd", dtype: "F4_XYZ", shape: [3], data: [1, 2]))
        let url = try files.write(builder.build(), to: "odd.safetensors")
        let file = try SafetensorsFile(url: url)
        let error = checkpointError(about: url) { _ = try file.floats(named: "odd") }
        XCTAssertEqual(error?.problem, .unsupportedTensorType(tensor: "odd", type: "F4_XYZ"))
    }

    func testEveryTruncationIsReportedAsTruncated() throws {
        let bytes = sampleBuilder().build()
        for cut in 0..<bytes.count {
            let url = try files.write(Array(bytes[..<cut]), to: "cut\(cut).safetensors")
            let error = checkpointError(about: url) {
                let file = try SafetensorsFile(url: url)
                for name in ["h.f32", "h.f16", "h.bf16"] { _ = try file.floats(named: name) }
            }
            XCTAssertEqual(
                error?.problem.isTruncated, true, "cut at \(cut): \(String(describing: error))")
            try FileManager.default.removeItem(at: url)
        }
    }

    /// Random byte corruption must end in success or a `CheckpointError`, never in a trap.
    func testRandomCorruptionNeverTraps() throws {
        let bytes = sampleBuilder().build()
        let noise = DequantizeTests.randomBytes(3 * 300, seed: 11)
        for trial in 0..<300 {
            var corrupt = bytes
            let position = (Int(noise[3 * trial]) << 8 | Int(noise[3 * trial + 1])) % bytes.count
            corrupt[position] = noise[3 * trial + 2]
            let url = try files.write(corrupt, to: "corrupt\(trial).safetensors")
            succeedsOrThrowsCheckpointError(about: url) {
                let file = try SafetensorsFile(url: url)
                for name in file.tensorNames { _ = try file.floats(named: name) }
            }
            try FileManager.default.removeItem(at: url)
        }
    }

    func testBadHeaders() throws {
        var cases: [(String, SafetensorsBuilder, isTruncated: Bool)] = []
        var builder = sampleBuilder()
        builder.headerLengthOverride = 1 << 40
        cases.append(("absurd header length", builder, false))
        builder = sampleBuilder()
        builder.headerLengthOverride = UInt64(builder.build().count)
        cases.append(("header longer than file", builder, true))
        builder = sampleBuilder()
        builder.headerOverride = "{\"a\": {\"dtype\": \"F32\", \"shape\": [1]"
        cases.append(("unterminated JSON", builder, false))
        builder = sampleBuilder()
        builder.headerOverride = "[1, 2, 3]"
        cases.append(("not an object", builder, false))
        builder = sampleBuilder()
        builder.headerOverride = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}"
        cases.append(("size disagrees with shape", builder, false))
        builder = sampleBuilder()
        builder.headerOverride = "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}"
        cases.append(("negative extent", builder, false))
        builder = sampleBuilder()
        builder.headerOverride = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}"
        cases.append(("reversed offsets", builder, false))
        builder = sampleBuilder()
        builder.headerOverride =
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[100000,100004]}}"
        cases.append(("offsets beyond the file", builder, true))
        for (name, builder, isTruncated) in cases {
            let url = try files.write(builder.build(), to: "\(name).safetensors")
            let error = checkpointError(about: url) { _ = try SafetensorsFile(url: url) }
            let matches = isTruncated ? error?.problem.isTruncated : error?.problem.isMalformed
            XCTAssertEqual(matches, true, "\(name): \(String(describing: error))")
        }
    }

    func testShardedDirectory() throws {
        var first = SafetensorsBuilder()
        first.tensors = [.init(name: "a", dtype: "F32", shape: [2],
                               data: SafetensorsBuilder.bytes(of: [1, 2]))]
        var second = SafetensorsBuilder()
        second.tensors = [
            .init(name: "b", dtype: "F32", shape: [1], data: SafetensorsBuilder.bytes(of: [3])),
            .init(name: "c", dtype: "BF16", shape: [1],
                  data: SafetensorsBuilder.bytes(ofBFloat16s: [4])),
        ]
        try files.write(first.build(), to: "model-00001-of-00002.safetensors")
        try files.write(second.build(), to: "model-00002-of-00002.safetensors")
        let index = """
            {"metadata": {"total_size": 14}, "weight_map": {"a": "model-00001-of-00002.safetensors",
             "b": "model-00002-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}}
            """
        try files.write(Array(index.utf8), to: "model.safetensors.index.json")
        let source = try SafetensorsFile.open(directory: files.directory)
        XCTAssertTrue(source is ShardedTensorSource)
        XCTAssertEqual(source.tensorNames, ["a", "b", "c"])
        XCTAssertEqual(try source.floats(named: "a"), [1, 2])
        XCTAssertEqual(try source.floats(named: "c"), [4])
        XCTAssertEqual(source.shape(of: "b"), [1])
        XCTAssertTrue(try openCheckpoint(files.directory) is ShardedTensorSource)

        let wrong = index.replacingOccurrences(
            of: "\"a\": \"model-00001", with: "\"a\": \"model-00002")
        let wrongURL = try files.write(Array(wrong.utf8), to: "wrong.index.json")
        let error = checkpointError(about: wrongURL) { _ = try ShardedTensorSource(index: wrongURL) }
        XCTAssertEqual(error?.problem.isMalformed, true, "\(String(describing: error))")
    }

    func testSingleFileDirectoryAndEmptyDirectory() throws {
        let empty = checkpointError(about: files.directory) {
            _ = try SafetensorsFile.open(directory: files.directory)
        }
        guard case .cannotOpen = empty?.problem else { return XCTFail("\(String(describing: empty))") }
        try files.write(sampleBuilder().build(), to: "model.safetensors")
        let source = try SafetensorsFile.open(directory: files.directory)
        XCTAssertTrue(source is SafetensorsFile)
        XCTAssertEqual(try source.floats(named: "h.f32"), Self.values)
    }

    func testOpenCheckpointPicksTheFormat() throws {
        let safetensors = try files.write(sampleBuilder().build(), to: "weights.bin")
        XCTAssertTrue(try openCheckpoint(safetensors) is SafetensorsFile, "by the JSON header")
        var gguf = GGUFBuilder()
        gguf.metadata = [("general.architecture", .string("llama"))]
        let ggufURL = try files.write(gguf.build(), to: "model.weights")
        XCTAssertTrue(try openCheckpoint(ggufURL) is GGUFFile, "by the magic")
        let junk = try files.write(Array("PK\u{3}\u{4} not a checkpoint".utf8), to: "junk.zip")
        let error = checkpointError(about: junk) { _ = try openCheckpoint(junk) }
        guard case .badMagic = error?.problem else { return XCTFail("\(String(describing: error))") }
    }
}

/// `SafetensorsWriter` output reads back through `SafetensorsFile`: names, shapes, values and
/// metadata; the header is sorted JSON padded with spaces to a multiple of 8 bytes.
final class SafetensorsWriterTests: XCTestCase {
    func testWrittenTensorsReadBack() throws {
        let files = try TemporaryFiles()
        let url = files.directory.appendingPathComponent("written.safetensors")
        let tensors = [
            SafetensorsWriter.Tensor(name: "b.weight", shape: [2, 3], values: [1, -2, 0.5, 3.25, -0.125, 1024]),
            SafetensorsWriter.Tensor(name: "a.bias", shape: [1], values: [.pi]),
        ]
        try SafetensorsWriter.write(tensors, metadata: ["format": "pt", "note": "a \"quoted\" path/x"], to: url)
        let file = try SafetensorsFile(url: url)
        XCTAssertEqual(Set(file.tensorNames), ["a.bias", "b.weight"])
        XCTAssertEqual(file.metadata, ["format": "pt", "note": "a \"quoted\" path/x"])
        for t in tensors {
            XCTAssertEqual(file.shape(of: t.name), t.shape)
            XCTAssertEqual(try file.floats(named: t.name), t.values)
        }
        let bytes = try Data(contentsOf: url)
        let length = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(length % 8, 0)
        XCTAssertEqual(bytes.count, 8 + length + 7 * 4)
        let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix(#"{"__metadata__":{"format":"pt","#), header)
        XCTAssertTrue(header.contains(#""a.bias":{"data_offsets":[24,28],"dtype":"F32","shape":[1]}"#), header)
        XCTAssertTrue(header.contains(#""b.weight":{"data_offsets":[0,24],"dtype":"F32","shape":[2,3]}"#), header)
    }
}
