import Foundation
import LocusCheckpoint
import XCTest

/// Broken GGUF files must produce a `CheckpointError` that names the file, never a trap.
final class GGUFErrorTests: XCTestCase {
    private var files: TemporaryFiles!

    override func setUpWithError() throws { files = try TemporaryFiles() }
    override func tearDown() { files = nil }

    /// A small valid file: metadata of several types, an F32 and a Q4_0 tensor.
    private func sampleBuilder() -> GGUFBuilder {
        var builder = GGUFBuilder()
        builder.metadata = [
            ("general.architecture", .string("llama")),
            ("llama.block_count", .uint32(2)),
            ("tokenizer.ggml.tokens", .array([.string("a"), .string("bc")])),
            ("t.nested", .array([.array([.int8(1)])])),
        ]
        let q4Block: [UInt8] = [0x00, 0x3C] + (0..<16).map { UInt8($0 * 17 % 256) }
        builder.tensors = [
            .init(name: "norm", ne: [4], typeID: 0, data: SafetensorsBuilder.bytes(of: [1, 2, 3, 4])),
            .init(name: "w", ne: [32, 2], typeID: 2, data: q4Block + q4Block),
        ]
        return builder
    }

    private func openAndReadEverything(_ url: URL) throws {
        let file = try GGUFFile(url: url)
        for name in file.tensorNames { _ = try file.floats(named: name) }
    }

    func testSampleIsValid() throws {
        let url = try files.write(sampleBuilder().build(), to: "sample.gguf")
        try openAndReadEverything(url)
    }

    func testEveryTruncationIsReportedAsTruncated() throws {
        let bytes = sampleBuilder().build()
        for cut in 0..<bytes.count {
            let url = try files.write(Array(bytes[..<cut]), to: "cut\(cut).gguf")
            let error = checkpointError(about: url) { try openAndReadEverything(url) }
            XCTAssertEqual(
                error?.problem.isTruncated, true, "cut at \(cut): \(String(describing: error))")
            try FileManager.default.removeItem(at: url)
        }
    }

    /// Random byte corruption must end in success or a `CheckpointError`, never in a trap.
    func testRandomCorruptionNeverTraps() throws {
        let bytes = sampleBuilder().build()
        let noise = DequantizeTests.randomBytes(4 * 400, seed: 7)
        for trial in 0..<400 {
            var corrupt = bytes
            let position = (Int(noise[4 * trial]) << 8 | Int(noise[4 * trial + 1])) % bytes.count
            corrupt[position] = noise[4 * trial + 2]
            if noise[4 * trial + 3] & 1 == 1 { corrupt[(position + 1) % bytes.count] = 0xFF }
            let url = try files.write(corrupt, to: "corrupt\(trial).gguf")
            succeedsOrThrowsCheckpointError(about: url) { try openAndReadEverything(url) }
            try FileManager.default.removeItem(at: url)
        }
    }

    func testBadMagic() throws {
        var builder = sampleBuilder()
        builder.magic = Array("GGML".utf8)
        let url = try files.write(builder.build(), to: "magic.gguf")
        let error = checkpointError(about: url) { _ = try GGUFFile(url: url) }
        XCTAssertEqual(error?.problem, .badMagic(found: "\"GGML\""))
    }

    func testVersion1AndUnknownVersionsAreRefused() throws {
        for version: UInt32 in [1, 4, 0x0300_0000] {
            var builder = sampleBuilder()
            builder.version = version
            let url = try files.write(builder.build(), to: "v\(version).gguf")
            let error = checkpointError(about: url) { _ = try GGUFFile(url: url) }
            XCTAssertEqual(error?.problem, .unsupportedVersion(version))
        }
    }

    /// Q2_K (id 10, 84-byte blocks) has a known layout but no dequantiser.
    func testUndecodableTensorOpensButCannotBeRead() throws {
        var builder = sampleBuilder()
        builder.tensors.append(.init(name: "k", ne: [256], typeID: 10, data: .init(repeating: 0,
                                                                                  count: 84)))
        let url = try files.write(builder.build(), to: "q2k.gguf")
        let file = try GGUFFile(url: url)
        XCTAssertEqual(file.tensorInfo(named: "k")?.type, .q2_k)
        XCTAssertEqual(file.tensorInfo(named: "k")?.byteCount, 84)
        XCTAssertEqual(try file.rawData(named: "k").count, 84)
        let error = checkpointError(about: url) { _ = try file.floats(named: "k") }
        XCTAssertEqual(error?.problem, .unsupportedTensorType(tensor: "k", type: "Q2_K"))
        XCTAssertTrue(error?.description.contains("'k'") == true)
        XCTAssertTrue(error?.description.contains("Q2_K") == true)
    }

    func testUnknownTypeIDOpensButCannotBeRead() throws {
        var builder = sampleBuilder()
        builder.tensors.append(.init(name: "odd", ne: [8], typeID: 99, data: .init(repeating: 0,
                                                                                  count: 8)))
        let url = try files.write(builder.build(), to: "unknown.gguf")
        let file = try GGUFFile(url: url)
        let info = try XCTUnwrap(file.tensorInfo(named: "odd"))
        XCTAssertEqual(info.type, .unknown(99))
        XCTAssertEqual(info.type.name, "type 99")
        XCTAssertNil(info.byteCount)
        let error = checkpointError(about: url) { _ = try file.floats(named: "odd") }
        XCTAssertEqual(error?.problem, .unsupportedTensorType(tensor: "odd", type: "type 99"))
        XCTAssertEqual(try file.floats(named: "norm"), [1, 2, 3, 4])
    }

    func testMissingTensorAndMissingFile() throws {
        let url = try files.write(sampleBuilder().build(), to: "sample.gguf")
        let file = try GGUFFile(url: url)
        let missing = checkpointError(about: url) { _ = try file.floats(named: "nope") }
        XCTAssertEqual(missing?.problem, .missingTensor("nope"))
        let absent = files.directory.appendingPathComponent("absent.gguf")
        let error = checkpointError(about: absent) { _ = try GGUFFile(url: absent) }
        guard case .cannotOpen = error?.problem else { return XCTFail("\(String(describing: error))") }
    }

    /// Patches `count` little-endian bytes of `value` into `bytes` at `offset`.
    private func patch<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, _ value: T) -> [UInt8] {
        var bytes = bytes
        withUnsafeBytes(of: value.littleEndian) { raw in
            for (i, byte) in raw.enumerated() { bytes[offset + i] = byte }
        }
        return bytes
    }

    func testAbsurdCountsAndLengthsAreRejectedWithoutAllocating() throws {
        var oneKey = GGUFBuilder()
        oneKey.metadata = [("k", .array([.uint8(1)]))]
        let base = oneKey.build()
        // Header: magic 0, version 4, tensor count 8, metadata count 16; key length at 24;
        // key "k" at 32; value type at 33; element type at 37; element count at 41.
        let cases: [(String, [UInt8])] = [
            ("huge key length", patch(base, at: 24, UInt64(1) << 62)),
            ("max key length", patch(base, at: 24, UInt64.max)),
            ("huge array", patch(base, at: 41, UInt64(1) << 60)),
            ("huge tensor count", patch(base, at: 8, UInt64.max)),
            ("huge metadata count", patch(base, at: 16, UInt64(1) << 50)),
        ]
        for (name, bytes) in cases {
            let url = try files.write(bytes, to: "\(name).gguf")
            let error = checkpointError(about: url) { _ = try GGUFFile(url: url) }
            XCTAssertEqual(error?.problem.isTruncated, true, "\(name): \(String(describing: error))")
        }
    }

    func testMalformedHeadersAreRejected() throws {
        var cases: [(String, GGUFBuilder)] = []
        var builder = sampleBuilder()
        builder.metadata.append(("general.alignment", .uint32(24)))
        cases.append(("alignment not a power of two", builder))
        builder = sampleBuilder()
        builder.metadata.append(("general.architecture", .string("gpt2")))
        cases.append(("duplicate key", builder))
        builder = sampleBuilder()
        builder.tensors[0].ne = [1, 1, 1, 1, 4]
        cases.append(("five dimensions", builder))
        builder = sampleBuilder()
        builder.tensors[1].ne = [16, 4]
        cases.append(("row not a whole block", builder))
        builder = sampleBuilder()
        builder.tensors[1].ne = [UInt64(1) << 40, UInt64(1) << 40]
        cases.append(("element count overflow", builder))
        builder = sampleBuilder()
        builder.tensors[1].name = "norm"
        cases.append(("duplicate tensor", builder))
        builder = sampleBuilder()
        let deep = (0..<12).reduce(GGUFValue.int8(0)) { inner, _ in .array([inner]) }
        builder.metadata = [("deep", deep)]
        cases.append(("arrays nested too deep", builder))
        for (name, builder) in cases {
            let url = try files.write(builder.build(), to: "\(name).gguf")
            let error = checkpointError(about: url) { _ = try GGUFFile(url: url) }
            XCTAssertEqual(error?.problem.isMalformed, true, "\(name): \(String(describing: error))")
        }
    }

    func testUnknownValueTypeAndMisalignedOffsetAreMalformed() throws {
        var oneKey = GGUFBuilder()
        oneKey.metadata = [("k", .uint8(1))]
        let badType = patch(oneKey.build(), at: 33, UInt32(13))
        var url = try files.write(badType, to: "valuetype.gguf")
        var error = checkpointError(about: url) { _ = try GGUFFile(url: url) }
        XCTAssertEqual(error?.problem.isMalformed, true, "\(String(describing: error))")

        var one = GGUFBuilder()
        one.tensors = [.init(name: "x", ne: [1], typeID: 0, data: [0, 0, 0, 0, 0, 0, 0, 0])]
        // Tensor info: name length 24, "x" 32, n_dims 33, ne 37, type 45, offset 49.
        url = try files.write(patch(one.build(), at: 49, UInt64(4)), to: "misaligned.gguf")
        error = checkpointError(about: url) { _ = try GGUFFile(url: url) }
        XCTAssertEqual(error?.problem.isMalformed, true, "\(String(describing: error))")
        url = try files.write(patch(one.build(), at: 49, UInt64.max - 31), to: "farout.gguf")
        error = checkpointError(about: url) { _ = try GGUFFile(url: url) }
        XCTAssertEqual(error?.problem.isTruncated, true, "\(String(describing: error))")
    }
}
