import Foundation
import LocusCheckpoint
import XCTest

/// Parity with the Python `gguf` package: `Fixtures/quant_fixture.gguf` was written by
/// `gguf.GGUFWriter` and `quant_fixture.json` holds what `gguf.quants.dequantize` made of each
/// tensor (regenerate both with `scripts/reference/make_quant_fixtures.py`).
final class ReferenceParityTests: XCTestCase {
    struct Fixture: Decodable {
        struct Tensor: Decodable {
            let name: String
            let type: String
            let shape: [Int]
            let offset: Int
            let byteCount: Int
            let bits: [UInt32]
        }
        let alignment: Int
        let dataOffset: Int
        let metadataKeys: [String]
        let input: [UInt32]
        let tensors: [Tensor]
    }

    private func fixtures() throws -> (GGUFFile, Fixture) {
        let directory = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let file = try GGUFFile(url: directory.appendingPathComponent("quant_fixture.gguf"))
        let json = try Data(contentsOf: directory.appendingPathComponent("quant_fixture.json"))
        return (file, try JSONDecoder().decode(Fixture.self, from: json))
    }

    func testDequantisedValuesAreBitIdenticalToGGUFPy() throws {
        let (file, fixture) = try fixtures()
        XCTAssertEqual(
            fixture.tensors.map(\.type), ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"])
        for expected in fixture.tensors {
            let values = try file.floats(named: expected.name)
            XCTAssertEqual(values.count, expected.bits.count, expected.name)
            let mismatches = zip(values, expected.bits).enumerated()
                .filter { $1.0.bitPattern != $1.1 }
            XCTAssertTrue(mismatches.isEmpty, "\(expected.type): \(mismatches.count) values differ,"
                          + " first at \(mismatches.first.map { "\($0.offset)" } ?? "")")
        }
        // F32 holds the input exactly.
        XCTAssertEqual(try file.floats(named: "f32").map(\.bitPattern), fixture.input)
    }

    struct KQuantFixture: Decodable {
        struct Tensor: Decodable {
            let name: String
            let type: String
            let shape: [Int]
            let bits: [UInt32]
        }
        let input: [UInt32]
        let tensors: [Tensor]
    }

    /// Q4_K, Q5_K and Q6_K, quantised by `scripts/reference/kquants.py` and as seeded random
    /// bytes, against `gguf.quants.dequantize` bit for bit.
    func testKQuantsAreBitIdenticalToGGUFPy() throws {
        let directory = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let file = try GGUFFile(url: directory.appendingPathComponent("kquant_fixture.gguf"))
        let json = try Data(contentsOf: directory.appendingPathComponent("kquant_fixture.json"))
        let fixture = try JSONDecoder().decode(KQuantFixture.self, from: json)
        XCTAssertEqual(fixture.tensors.map(\.type), ["Q4_K", "Q4_K", "Q5_K", "Q5_K", "Q6_K", "Q6_K"])
        for expected in fixture.tensors {
            XCTAssertEqual(file.shape(of: expected.name), expected.shape)
            let values = try file.floats(named: expected.name)
            XCTAssertEqual(values.count, expected.bits.count, expected.name)
            let mismatches = zip(values, expected.bits).enumerated()
                .filter { $1.0.bitPattern != $1.1 }
            XCTAssertTrue(mismatches.isEmpty, "\(expected.name): \(mismatches.count) values differ,"
                          + " first at \(mismatches.first.map { "\($0.offset)" } ?? "")")
            if !expected.name.hasSuffix("_random") {
                // The quantised tensors are close to the input (the fixture is not noise).
                let input = fixture.input.map { Float(bitPattern: $0) }
                let error = zip(values, input).map { abs($0 - $1) }.max() ?? .infinity
                XCTAssertLessThan(error, 3, expected.name)
            }
        }
    }

    func testLayoutMatchesGGUFPyReader() throws {
        let (file, fixture) = try fixtures()
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.alignment, fixture.alignment)
        XCTAssertEqual(file.dataOffset, fixture.dataOffset)
        XCTAssertEqual(file.metadataKeys, fixture.metadataKeys)
        XCTAssertEqual(file.tensorNames, fixture.tensors.map(\.name))
        for expected in fixture.tensors {
            let info = try XCTUnwrap(file.tensorInfo(named: expected.name))
            XCTAssertEqual(info.type.name, expected.type)
            XCTAssertEqual(info.shape, expected.shape)
            XCTAssertEqual(info.offset, expected.offset)
            XCTAssertEqual(info.byteCount, expected.byteCount)
        }
    }

    /// The metadata `make_quant_fixtures.py` writes, one of each value type.
    func testMetadataWrittenByGGUFPy() throws {
        let (file, _) = try fixtures()
        let expected: [String: GGUFValue] = [
            "general.architecture": .string("llama"),
            "general.alignment": .uint32(64),
            "test.uint8": .uint8(200), "test.int8": .int8(-100),
            "test.uint16": .uint16(60000), "test.int16": .int16(-30000),
            "test.uint32": .uint32(4_000_000_000), "test.int32": .int32(-2_000_000_000),
            "test.float32": .float32(0.1), "test.bool": .bool(true),
            "test.string": .string("héllo, GGUF ✓"),
            "test.uint64": .uint64(18_000_000_000_000_000_000),
            "test.int64": .int64(-9_000_000_000_000_000_000),
            "test.float64": .float64(-2.5e-300),
            "test.ints": .array([.int32(1), .int32(-2), .int32(3)]),
            "test.strings": .array([.string("a"), .string(""), .string("ccc")]),
            "test.floats": .array([.float32(0.25), .float32(-1.5)]),
            "test.bools": .array([.bool(true), .bool(false)]),
            "test.nested": .array([.array([.int32(1), .int32(2)]), .array([.int32(3)])]),
        ]
        XCTAssertEqual(file.metadata, expected)
    }
}
