import Foundation
import LocusCheckpoint
import XCTest

/// Tensor byte ranges are validated when a file opens: inside the file, no overlap, no gap, and
/// exactly the size the type and shape imply, so a tensor whose type was changed to another
/// that still fits cannot load and give different numbers. Short and empty files say so.
final class ByteRangeValidationTests: XCTestCase {
    private var files: TemporaryFiles!

    override func setUpWithError() throws { files = try TemporaryFiles() }
    override func tearDown() { files = nil }

    /// Three tensors: Q4_1 (32 blocks, 640 bytes), F32 (512), Q8_0 (one block). A size change of
    /// the first is far larger than the 32-byte alignment padding, and a larger type still ends
    /// inside the file.
    private func gguf() -> GGUFBuilder {
        var b = GGUFBuilder()
        b.metadata = [("general.architecture", .string("llama"))]
        let q41: [UInt8] = [0x00, 0x3C, 0x00, 0x00] + (0..<16).map { UInt8($0 * 9 % 256) }
        let q80: [UInt8] = [0x00, 0x3C] + (0..<32).map { UInt8($0 * 5 % 128) }
        b.tensors = [
            .init(name: "a", ne: [1024], typeID: 3, data: Array([[UInt8]](repeating: q41, count: 32).joined())),
            .init(name: "b", ne: [512], typeID: 0, data: SafetensorsBuilder.bytes(of: (0..<512).map { Float($0) })),
            .init(name: "c", ne: [32], typeID: 8, data: q80),
        ]
        return b
    }

    /// Offset of tensor `index`'s type id in the built file (header walk of `GGUFBuilder`).
    private func typeFieldOffset(_ builder: GGUFBuilder, tensor index: Int) -> Int {
        var sink = ByteSink()
        sink.bytes += builder.magic
        sink.append(builder.version)
        sink.append(UInt64(builder.tensors.count))
        sink.append(UInt64(builder.metadata.count))
        for (key, value) in builder.metadata {
            sink.append(string: key)
            sink.append(GGUFBuilder.typeID(of: value))
            GGUFBuilder.write(value, to: &sink)
        }
        for (i, t) in builder.tensors.enumerated() {
            sink.append(string: t.name)
            sink.append(UInt32(t.ne.count))
            for e in t.ne { sink.append(e) }
            if i == index { return sink.bytes.count }
            sink.append(t.typeID)
            sink.append(UInt64(0))
        }
        fatalError("no tensor \(index)")
    }

    func testValidFileOpens() throws {
        let url = try files.write(gguf().build(), to: "ok.gguf")
        let file = try GGUFFile(url: url)
        XCTAssertEqual(try file.floats(named: "b"), (0..<512).map { Float($0) })
    }

    /// Q4_1 → Q4_0 (smaller, still inside the file), Q4_1 → Q5_1 and Q8_0 (same block size,
    /// larger): all used to open and decode other numbers; the packing check refuses them,
    /// naming the tensor that follows. The last tensor shrunk leaves bytes after it: refused.
    func testTensorTypeChangedToAnotherThatFitsIsRefused() throws {
        let builder = gguf()
        for (newType, name) in [(UInt32(2), "Q4_0"), (7, "Q5_1"), (8, "Q8_0")] {
            var bytes = builder.build()
            let at = typeFieldOffset(builder, tensor: 0)
            withUnsafeBytes(of: newType.littleEndian) { bytes.replaceSubrange(at..<(at + 4), with: $0) }
            let url = try files.write(bytes, to: "retyped-\(name).gguf")
            let error = checkpointError(about: url) { _ = try GGUFFile(url: url) }
            XCTAssertEqual(error?.problem.isMalformed, true, "\(name): \(String(describing: error))")
            XCTAssertTrue(error?.description.contains("'b'") ?? false, "\(String(describing: error))")
        }
        // Last tensor c: Q8_0 (34 bytes per 32) → Q4_0 (18): 16 unexplained bytes... under the
        // 32-byte alignment, so make the tail longer with a wider last tensor.
        var wide = builder
        wide.tensors[2] = .init(name: "c", ne: [1024], typeID: 8, data: [UInt8](repeating: 0x11, count: 32 * 34))
        var bytes = wide.build()
        let at = typeFieldOffset(wide, tensor: 2)
        withUnsafeBytes(of: UInt32(2).littleEndian) { bytes.replaceSubrange(at..<(at + 4), with: $0) }
        let url = try files.write(bytes, to: "last-retyped.gguf")
        let error = checkpointError(about: url) { _ = try GGUFFile(url: url) }
        XCTAssertTrue(error?.description.contains("follow the last tensor 'c'") ?? false, "\(String(describing: error))")
    }

    /// A tensor moved onto another one's bytes (overlap), or past a gap, is refused.
    func testOverlappingAndGappedOffsetsAreRefused() throws {
        let builder = gguf()
        let offsets = builder.relativeOffsets
        for (newOffset, label) in [(UInt64(offsets[1] - 32), "overlap"), (UInt64(offsets[1] + 32), "gap")] {
            var bytes = builder.build()
            // The offset field follows tensor 1's type id.
            let at = typeFieldOffset(builder, tensor: 1) + 4
            withUnsafeBytes(of: newOffset.littleEndian) { bytes.replaceSubrange(at..<(at + 8), with: $0) }
            let url = try files.write(bytes, to: "\(label).gguf")
            let error = checkpointError(about: url) { _ = try GGUFFile(url: url) }
            XCTAssertEqual(error?.problem.isMalformed, true, "\(label): \(String(describing: error))")
        }
    }

    /// The real checkpoint's 272 tensors are packed exactly as the check requires.
    func testRealCheckpointPassesThePackingCheck() throws {
        let file = try GGUFFile(url: RealModelTests.modelURL)
        XCTAssertEqual(file.tensorInfos.count, 272)
    }

    func testEmptyAndShortFilesSaySo() throws {
        for (bytes, expected) in [([UInt8](), "empty"), ([0x47, 0x47, 0x55], "only 3 bytes")] {
            let url = try files.write(bytes, to: "short\(bytes.count).gguf")
            let error = checkpointError(about: url) { _ = try openCheckpoint(url) }
            XCTAssertEqual(error?.problem.isTruncated, true)
            XCTAssertTrue(error?.description.contains(expected) ?? false, "\(String(describing: error))")
            XCTAssertFalse(error?.description.contains("bad magic") ?? true)
        }
    }

    // MARK: safetensors

    private func safetensors(_ ranges: [(String, Int, Int)], dataBytes: Int, shape: [Int] = [2]) -> [UInt8] {
        var b = SafetensorsBuilder()
        let entries = ranges.map {
            "\"\($0.0)\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[\($0.1),\($0.2)]}"
        }
        var header = "{" + entries.joined(separator: ",") + "}"
        while header.utf8.count % 8 != 0 { header += " " }
        b.headerOverride = header
        b.tensors = [.init(name: "", dtype: "F32", shape: [], data: [UInt8](repeating: 0, count: dataBytes))]
        return b.build()
    }

    func testSafetensorsRangesMustTileTheData() throws {
        let ok = try files.write(safetensors([("a", 0, 8), ("b", 8, 16)], dataBytes: 16), to: "ok.safetensors")
        XCTAssertEqual(try SafetensorsFile(url: ok).tensorNames, ["a", "b"])
        let cases: [(String, [(String, Int, Int)], Int)] = [
            ("overlap", [("a", 0, 8), ("b", 4, 12)], 16),
            ("gap", [("a", 0, 8), ("b", 12, 20)], 20),
            ("late start", [("a", 4, 12), ("b", 12, 20)], 20),
            ("trailing bytes", [("a", 0, 8), ("b", 8, 16)], 24),
            ("same range", [("a", 0, 8), ("b", 0, 8)], 8),
        ]
        for (label, ranges, size) in cases {
            let url = try files.write(safetensors(ranges, dataBytes: size), to: "\(label).safetensors")
            let error = checkpointError(about: url) { _ = try SafetensorsFile(url: url) }
            XCTAssertEqual(error?.problem.isMalformed, true, "\(label): \(String(describing: error))")
        }
    }

    /// F32 [2] declared over 8 bytes is exact; the same bytes as F16 [2] (4 bytes) or F64 [2]
    /// (16) do not match, whatever else fits.
    func testSafetensorsSizeMustMatchDtypeAndShape() throws {
        for (dtype, label) in [("F16", "smaller"), ("F64", "larger")] {
            var b = SafetensorsBuilder()
            b.tensors = [.init(name: "w", dtype: dtype, shape: [2], data: [UInt8](repeating: 0, count: 8))]
            let url = try files.write(b.build(), to: "\(label).safetensors")
            let error = checkpointError(about: url) { _ = try SafetensorsFile(url: url) }
            XCTAssertEqual(error?.problem.isMalformed, true, "\(label): \(String(describing: error))")
        }
    }
}
