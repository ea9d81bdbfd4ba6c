@testable import LocusCheckpoint
import XCTest

/// The fast kernels (C, `CLocusKernels`) against their naive Swift twin, bit for bit, on arbitrary
/// bytes (NaN, infinity and subnormal scales included) — on the portable scalar path and, where
/// the CPU has it, the AVX2 + FMA + F16C path — and the size checks of the public entry point.
final class DequantizeTests: XCTestCase {
    static let supported: [GGMLType] = [
        .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_k, .q5_k, .q6_k,
    ]

    /// Deterministic bytes (SplitMix64).
    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return UInt8(truncatingIfNeeded: z ^ (z >> 31))
        }
    }

    func testFastMatchesNaiveBitForBit() throws {
        XCTAssertEqual(KernelPath.available.contains(.avx2), KernelPath.hasAVX2)
        for type in Self.supported {
            XCTAssertTrue(type.canDequantize)
            let count = 256 * 37
            let byteCount = try XCTUnwrap(type.byteCount(elements: count))
            let bytes = Self.randomBytes(byteCount, seed: UInt64(type.id) + 1)
            let naive = try XCTUnwrap(Dequantizer.naive(type, bytes: bytes, count: count))
            for path in [KernelPath.automatic] + KernelPath.available {
                let fast = try bytes.withUnsafeBytes {
                    try dequantize(type: type, bytes: $0, count: count, path: path)
                }
                XCTAssertEqual(fast.count, count)
                for i in 0..<count where fast[i].bitPattern != naive[i].bitPattern {
                    return XCTFail("\(type) \(path) element \(i): fast \(fast[i]) naive \(naive[i])")
                }
            }
        }
    }

    /// Every one of the 65,536 halves through each path's F16 decoder (F16C `vcvtph2ps` eight at
    /// a time plus a scalar tail; the portable bit-level conversion) and Swift's `Float16`.
    func testEveryHalfConvertsExactly() throws {
        let all = (0...UInt16.max).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let naive = (0...UInt16.max).map {
            Dequantizer.naiveHalf(UInt8($0 & 0xFF), UInt8($0 >> 8))
        }
        for path in KernelPath.available {
            // An odd count leaves a tail after the vector loop.
            let count = 65_535
            let fast = try all.withUnsafeBytes {
                try dequantize(type: .f16, bytes: UnsafeRawBufferPointer(rebasing: $0[..<(2 * count)]),
                               count: count, path: path)
            }
            for i in 0..<count where fast[i].bitPattern != naive[i].bitPattern {
                return XCTFail("\(path) half 0x\(String(i, radix: 16)): \(fast[i]) vs naive \(naive[i])")
            }
        }
        for bits in 0...UInt16.max {
            let swift = Float(Float16(bitPattern: bits))
            if swift.isNaN {
                XCTAssertTrue(naive[Int(bits)].isNaN, "half \(bits)")
            } else if swift.bitPattern != naive[Int(bits)].bitPattern {
                return XCTFail("half 0x\(String(bits, radix: 16)): \(swift) vs naive \(naive[Int(bits)])")
            }
        }
    }

    func testKnownBlocks() throws {
        // Q4_1: d = 0.5, m = -1, nibbles j and j+16 from byte j = 0x(j)(15-j)... read low first.
        var block: [UInt8] = [0x00, 0x38, 0x00, 0xBC]  // f16 0.5, f16 -1
        block += (0..<16).map { UInt8(15 - $0) << 4 | UInt8($0) }
        let values = try block.withUnsafeBytes { try dequantize(type: .q4_1, bytes: $0, count: 32) }
        XCTAssertEqual(Array(values[0..<16]), (0..<16).map { 0.5 * Float($0) - 1 })
        XCTAssertEqual(Array(values[16..<32]), (0..<16).map { 0.5 * Float(15 - $0) - 1 })

        var q4 = block
        q4.removeSubrange(2..<4)  // Q4_0: d = 0.5 only
        let q4Values = try q4.withUnsafeBytes { try dequantize(type: .q4_0, bytes: $0, count: 32) }
        XCTAssertEqual(Array(q4Values[0..<16]), (0..<16).map { 0.5 * Float($0 - 8) })
    }

    func testSizeChecks() throws {
        let bytes = [UInt8](repeating: 0, count: 40)
        try bytes.withUnsafeBytes { raw in
            XCTAssertThrowsError(try dequantize(type: .q2_k, bytes: raw, count: 256)) {
                XCTAssertEqual($0 as? DequantizationError, .unsupportedType(.q2_k))
            }
            XCTAssertThrowsError(try dequantize(type: .q8_0, bytes: raw, count: 20)) {
                XCTAssertEqual($0 as? DequantizationError, .partialBlock(count: 20, blockSize: 32))
            }
            XCTAssertThrowsError(try dequantize(type: .q8_0, bytes: raw, count: 32)) {
                XCTAssertEqual($0 as? DequantizationError,
                               .byteCountMismatch(expected: 34, found: 40))
            }
            XCTAssertEqual(try dequantize(type: .f32, bytes: raw, count: 10), [Float](repeating: 0,
                                                                                    count: 10))
        }
        var out = [Float](repeating: 1, count: 20)
        try out.withUnsafeMutableBufferPointer { buffer in
            try bytes.withUnsafeBytes { raw in
                XCTAssertNoThrow(try dequantize(
                    type: .f16, bytes: UnsafeRawBufferPointer(rebasing: raw[0..<40]), into: buffer))
            }
        }
        XCTAssertEqual(out, [Float](repeating: 0, count: 20))
    }

    func testTypeTable() {
        XCTAssertEqual(GGMLType(id: 3), .q4_1)
        XCTAssertEqual(GGMLType(id: 30), .bf16)
        XCTAssertEqual(GGMLType(id: 4), .unknown(4))
        XCTAssertEqual(GGMLType.q6_k.bytesPerBlock, 210)
        XCTAssertEqual(GGMLType.q4_k.bytesPerBlock, 144)
        XCTAssertEqual(GGMLType.q8_0.name, "Q8_0")
        XCTAssertEqual(GGMLType.q4_1.byteCount(elements: 576), 18 * 20)
        XCTAssertNil(GGMLType.q4_1.byteCount(elements: 17))
        for type in GGMLType.known { XCTAssertEqual(GGMLType(id: type.id), type) }
    }
}
