import Foundation
import LocusCheckpoint
import XCTest

final class GGUFMetadataTests: XCTestCase {
    private var files: TemporaryFiles!

    override func setUpWithError() throws { files = try TemporaryFiles() }
    override func tearDown() { files = nil }

    /// One entry of every value type, arrays of several element types, nested and empty arrays.
    static let everyType: [(key: String, value: GGUFValue)] = [
        ("general.architecture", .string("llama")),
        ("t.uint8", .uint8(255)), ("t.int8", .int8(-128)),
        ("t.uint16", .uint16(65535)), ("t.int16", .int16(-32768)),
        ("t.uint32", .uint32(4_294_967_295)), ("t.int32", .int32(-2_147_483_648)),
        ("t.uint64", .uint64(.max)), ("t.int64", .int64(.min)),
        ("t.float32", .float32(-0.1)), ("t.float64", .float64(1e-300)),
        ("t.true", .bool(true)), ("t.false", .bool(false)),
        ("t.string", .string("héllo ✓ 日本")), ("t.empty", .string("")),
        ("t.ints", .array([.int32(1), .int32(-2), .int32(3)])),
        ("t.strings", .array([.string("a"), .string(""), .string("Ġthe")])),
        ("t.floats", .array([.float32(0.5), .float32(-1)])),
        ("t.bytes", .array([.uint8(0), .uint8(255)])),
        ("t.nested", .array([.array([.uint16(1), .uint16(2)]), .array([.uint16(3)])])),
        ("t.deep", .array([.array([.array([.string("x")])])])),
        ("t.none", .array([])),
    ]

    func testEveryValueTypeRoundTripsInVersions2And3() throws {
        for version: UInt32 in [2, 3] {
            var builder = GGUFBuilder()
            builder.version = version
            builder.metadata = Self.everyType
            let url = try files.write(builder.build(), to: "v\(version).gguf")
            let file = try GGUFFile(url: url)
            XCTAssertEqual(file.version, version)
            XCTAssertEqual(file.metadataKeys, Self.everyType.map(\.key))
            for (key, value) in Self.everyType {
                XCTAssertEqual(file.metadata(key), value, "\(key) in v\(version)")
            }
            XCTAssertEqual(file.metadata.count, Self.everyType.count)
            XCTAssertEqual(file.alignment, 32)
            XCTAssertTrue(file.tensorInfos.isEmpty)
        }
    }

    func testTypedAccessors() throws {
        var builder = GGUFBuilder()
        builder.metadata = Self.everyType
        let file = try GGUFFile(url: files.write(builder.build(), to: "accessors.gguf"))
        XCTAssertEqual(file.string("general.architecture"), "llama")
        XCTAssertEqual(file.int("t.uint32"), 4_294_967_295)
        XCTAssertEqual(file.int("t.int64"), Int(Int64.min))
        XCTAssertNil(file.int("t.uint64"), "UInt64.max does not fit an Int")
        XCTAssertEqual(file.double("t.float32"), Double(Float(-0.1)))
        XCTAssertEqual(file.double("t.int8"), -128)
        XCTAssertEqual(file.bool("t.true"), true)
        XCTAssertEqual(file.stringArray("t.strings"), ["a", "", "Ġthe"])
        XCTAssertEqual(file.intArray("t.ints"), [1, -2, 3])
        XCTAssertEqual(file.doubleArray("t.floats"), [0.5, -1])
        XCTAssertNil(file.stringArray("t.ints"))
        XCTAssertNil(file.string("t.missing"))
        XCTAssertEqual(try file.requiredInt("t.uint16"), 65535)
        XCTAssertThrowsError(try file.requiredString("t.uint8")) { error in
            XCTAssertTrue("\(error)".contains("t.uint8"), "\(error)")
        }
    }

    func testTensorsHonourANonDefaultAlignment() throws {
        for alignment in [1, 8, 64, 256] {
            var builder = GGUFBuilder()
            builder.alignment = alignment
            builder.metadata = [("general.alignment", .uint32(UInt32(alignment)))]
            let values: [Float] = [1, -2, 3.5]
            builder.tensors = [
                .init(name: "a", ne: [3], typeID: 0, data: SafetensorsBuilder.bytes(of: values)),
                .init(name: "b", ne: [3, 1], typeID: 0,
                      data: SafetensorsBuilder.bytes(of: values.map { -$0 })),
            ]
            let bytes = builder.build()
            let file = try GGUFFile(url: files.write(bytes, to: "aligned\(alignment).gguf"))
            XCTAssertEqual(file.alignment, alignment)
            XCTAssertEqual(file.dataOffset % alignment, 0)
            XCTAssertEqual(file.tensorInfos.map(\.offset), builder.relativeOffsets.map {
                file.dataOffset + $0
            })
            XCTAssertEqual(try file.floats(named: "a"), values)
            XCTAssertEqual(try file.floats(named: "b"), values.map { -$0 })
            XCTAssertEqual(file.shape(of: "b"), [1, 3])
        }
    }

    func testTensorInfosReverseNeIntoRowMajorShapes() throws {
        var builder = GGUFBuilder()
        let q8Block: [UInt8] = [0x00, 0x3C] + (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }
        builder.tensors = [
            .init(name: "w", ne: [32, 3], typeID: 8, data: Array([[UInt8]](repeating: q8Block,
                                                                         count: 3).joined())),
            .init(name: "s", ne: [], typeID: 0, data: SafetensorsBuilder.bytes(of: [7])),
        ]
        let file = try GGUFFile(url: files.write(builder.build(), to: "shapes.gguf"))
        XCTAssertEqual(file.tensorNames, ["w", "s"])
        let w = try XCTUnwrap(file.tensorInfo(named: "w"))
        XCTAssertEqual(w.shape, [3, 32])
        XCTAssertEqual(w.type, .q8_0)
        XCTAssertEqual(w.byteCount, 3 * 34)
        XCTAssertEqual(w.elementCount, 96)
        let values = try file.floats(named: "w")
        XCTAssertEqual(Array(values[0..<32]), (0..<32).map { Float($0 - 16) })
        XCTAssertEqual(file.shape(of: "s"), [])
        XCTAssertEqual(try file.floats(named: "s"), [7])
        XCTAssertEqual(try file.rawData(named: "w").count, 3 * 34)
        XCTAssertEqual(try file.floats(named: "w", shape: [3, 32]).count, 96)
        let mismatch = checkpointError(about: file.url) {
            _ = try file.floats(named: "w", shape: [32, 3])
        }
        XCTAssertEqual(mismatch?.problem, .shapeMismatch(tensor: "w", expected: [32, 3],
                                                         found: [3, 32]))
    }
}
