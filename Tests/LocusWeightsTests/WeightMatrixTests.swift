import CLocusKernels
import Foundation
import LocusCheckpoint
import LocusTensor
@testable import LocusWeights
import XCTest

/// The quantised kernels against their naive twin: dequantise W to fp32 (the bit-exact
/// dequantisers pinned to gguf-py in LocusCheckpointTests), then plain loops in Double.
final class WeightMatrixTests: XCTestCase {
    static let kernelTypes: [GGMLType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_k, .q5_k, .q6_k]

    /// A seeded matrix of `type` from random blocks whose f16 scales are small and finite.
    static func randomMatrix(_ type: GGMLType, rows: Int, columns: Int, seed: UInt64) throws
        -> WeightMatrix
    {
        var generator = SeededGenerator(seed: seed)
        let blockBytes = type.bytesPerBlock!, blockSize = type.blockSize!
        let blocks = rows * columns / blockSize
        var bytes = [UInt8](repeating: 0, count: blocks * blockBytes)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: generator.next()) }
        let scaleOffsets: [Int] =
            switch type {
            case .q6_k: [208]
            case .q4_1, .q5_1, .q4_k, .q5_k: [0, 2]
            default: [0]
            }
        for b in 0..<blocks {
            for offset in scaleOffsets {
                let d = Float16(Float(Int(generator.next() % 2001) - 1000) * 1e-5)
                let bits = d.bitPattern
                bytes[b * blockBytes + offset] = UInt8(bits & 0xFF)
                bytes[b * blockBytes + offset + 1] = UInt8(bits >> 8)
            }
        }
        return try WeightMatrix(rows: rows, columns: columns, type: type, bytes: Data(bytes))
    }

    static func randomVector(_ count: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Float(Int(generator.next() % 20001) - 10000) * 1e-4 }
    }

    /// Naive twin of the decode kernel given the activation it actually used: Σ_c W[r,c]·x̂[c]
    /// in Double, with x̂ = scale_b · q (the 8-bit activation dequantised).
    func naiveProduct(_ w: [Float], rows: Int, columns: Int, x: [Float]) -> [Double] {
        (0..<rows).map { r in
            (0..<columns).reduce(0.0) { $0 + Double(w[r * columns + $1]) * Double(x[$1]) }
        }
    }

    func quantizedActivation(_ x: [Float]) -> (values: [Float], scales: [Float]) {
        let blocks = x.count / 32
        var q = [Int8](repeating: 0, count: x.count)
        var scale = [Float](repeating: 0, count: blocks)
        var sum = [Int32](repeating: 0, count: blocks)
        locus_quantize_activation(x, Int64(x.count), &q, &scale, &sum)
        for b in 0..<blocks {
            XCTAssertEqual(sum[b], q[32 * b..<32 * b + 32].reduce(0) { $0 + Int32($1) })
        }
        return ((0..<x.count).map { scale[$0 / 32] * Float(q[$0]) }, scale)
    }

    /// Decode on both paths: (1) against the naive product with the same 8-bit activation, to
    /// float rounding (1e-5 of Σ|w·x̂|); (2) against the unquantised activation, within the
    /// activation-rounding bound Σ_b (s_b/2)·Σ_{j∈b}|W_rj| (plus the same rounding slack).
    func testDecodeKernelsMatchNaiveTwin() throws {
        let rows = 70, columns = 512
        let paths = KernelPath.available
        for (t, type) in Self.kernelTypes.enumerated() {
            let matrix = try Self.randomMatrix(type, rows: rows, columns: columns, seed: UInt64(t + 1))
            XCTAssertTrue(matrix.hasQuantizedKernel, "\(type)")
            let w = matrix.materializeFloat32().array()
            let x = Self.randomVector(columns, seed: 99)
            let (xq, scales) = quantizedActivation(x)
            let naive = naiveProduct(w, rows: rows, columns: columns, x: xq)
            let exact = naiveProduct(w, rows: rows, columns: columns, x: x)
            for path in paths {
                var y = [Float](repeating: .nan, count: rows)
                matrix.multiply(x, rows: 1, into: &y, path: path)
                for r in 0..<rows {
                    let magnitude = (0..<columns).reduce(0.0) {
                        $0 + abs(Double(w[r * columns + $1]) * Double(xq[$1]))
                    }
                    XCTAssertEqual(Double(y[r]), naive[r], accuracy: 1e-5 * magnitude + 1e-12,
                                   "\(type) \(path) row \(r)")
                    let bound = (0..<columns).reduce(0.0) {
                        $0 + Double(scales[$1 / 32]) / 2 * abs(Double(w[r * columns + $1]))
                    }
                    XCTAssertLessThanOrEqual(abs(Double(y[r]) - exact[r]),
                                             bound + 1e-5 * magnitude + 1e-12, "\(type) \(path)")
                }
            }
        }
    }

    /// The scalar and AVX2 kernels agree to float rounding on every type; the AVX-VNNI kernels
    /// (same float code, integer sums by vpdpbusd instead of vpmaddubsw + vpmaddwd) agree with
    /// AVX2 bit for bit, and so do the 512-bit Q4_K and Q6_K kernels (other integer reduction, the
    /// same float code; the other types run the AVX-VNNI kernels on that path).
    func testScalarAndVectorPathsAgree() throws {
        try XCTSkipUnless(KernelPath.hasAVX2, "no AVX2 on this CPU: only the scalar path exists")
        for (t, type) in Self.kernelTypes.enumerated() {
            let matrix = try Self.randomMatrix(type, rows: 33, columns: 768, seed: UInt64(40 + t))
            let x = Self.randomVector(768, seed: 5)
            var scalar = [Float](repeating: 0, count: 33), avx = scalar, vnni = scalar, wide = scalar
            matrix.multiply(x, rows: 1, into: &scalar, path: .scalar)
            matrix.multiply(x, rows: 1, into: &avx, path: .avx2)
            matrix.multiply(x, rows: 1, into: &vnni, path: .avxVNNI)
            matrix.multiply(x, rows: 1, into: &wide, path: .avx512VNNI)
            for r in 0..<33 {
                XCTAssertEqual(scalar[r], avx[r], accuracy: 1e-4 * max(1, abs(scalar[r])), "\(type)")
                XCTAssertEqual(scalar[r], wide[r], accuracy: 1e-4 * max(1, abs(scalar[r])), "\(type) 512-bit")
            }
            if KernelPath.hasAVXVNNI { XCTAssertEqual(avx, vnni, "\(type)") }
            if KernelPath.hasAVX512VNNI && KernelPath.hasAVXVNNI { XCTAssertEqual(wide, vnni, "\(type) 512-bit") }
        }
    }

    /// Batched int8 products (`ActivationQuantization.all`, `locus_matmul`) against one decode
    /// product per row (same quantised row): bit for bit where `locus_matmul` runs the row
    /// kernels, to float rounding (1e-5 of Σ|w·x̂|) where it runs the int8 GEMM (same terms, other
    /// summation order); with row strides and `accumulate`. `.none` turns decode into the exact
    /// fp32 panel product.
    func testBatchedInt8AndActivationModes() throws {
        let saved = WeightMatrix.activationQuantization
        defer { WeightMatrix.activationQuantization = saved }
        let n = 3, rows = 300, columns = 512, xStride = columns + 32, yStride = rows + 5
        for (t, type) in Self.kernelTypes.enumerated() {
            let matrix = try Self.randomMatrix(type, rows: rows, columns: columns, seed: UInt64(80 + t))
            let x = Self.randomVector(n * xStride, seed: 21)
            let w = matrix.materializeFloat32().array()
            let rowKernels = locus_matmul_path(Int32(type.id), KernelPath.automatic.rawValue)
                == Int32(LOCUS_MATMUL_ROWS.rawValue)
            WeightMatrix.activationQuantization = .decode
            var single = [Float](repeating: 0, count: n * rows)
            for i in 0..<n {
                x.withUnsafeBufferPointer { xp in
                    single.withUnsafeMutableBufferPointer { yp in
                        matrix.multiply(xp.baseAddress! + i * xStride, rows: 1, into: yp.baseAddress! + i * rows)
                    }
                }
            }
            WeightMatrix.activationQuantization = .all
            var batched = [Float](repeating: 2, count: n * yStride)
            matrix.multiply(x, rows: n, xStride: xStride, into: &batched, yStride: yStride, accumulate: true)
            for i in 0..<n {
                for r in 0..<rows {
                    if rowKernels {
                        XCTAssertEqual(batched[i * yStride + r], single[i * rows + r] + 2, "\(type)")
                    } else {
                        let magnitude = (0..<columns).reduce(2.0) {
                            $0 + abs(Double(w[r * columns + $1]) * Double(x[i * xStride + $1]))
                        }
                        XCTAssertEqual(Double(batched[i * yStride + r]), Double(single[i * rows + r]) + 2,
                                       accuracy: 1e-5 * magnitude, "\(type) GEMM row \(r)")
                    }
                }
                for r in rows..<yStride { XCTAssertEqual(batched[i * yStride + r], 2, "\(type) padding") }
            }
            // .none: decode is the panel product (the exact twin of prefill).
            WeightMatrix.activationQuantization = .none
            var exact = [Float](repeating: 0, count: rows)
            matrix.multiply(x, rows: 1, into: &exact)
            for r in 0..<rows {
                var expected = 0.0, magnitude = 1e-12
                for c in 0..<columns {
                    let p = Double(w[r * columns + c]) * Double(x[c])
                    expected += p
                    magnitude += abs(p)
                }
                XCTAssertEqual(Double(exact[r]), expected, accuracy: 1e-6 * magnitude, "\(type) none")
            }
            XCTAssertNotEqual(exact, Array(single[0..<rows]), "\(type): .none should not quantise x")
        }
        XCTAssertEqual(ActivationQuantization.decode.quantizes(rows: 1), true)
        XCTAssertEqual(ActivationQuantization.decode.quantizes(rows: 2), false)
        XCTAssertEqual(ActivationQuantization.none.quantizes(rows: 1), false)
        XCTAssertEqual(ActivationQuantization.all.quantizes(rows: 7), true)
    }

    /// Prefill (several rows) and the transposed product run panel by panel through sgemm; the
    /// twin is the dequantised matrix in Double. Tall enough for several panels.
    func testPanelProductsMatchNaiveTwin() throws {
        let types: [GGMLType] = Self.kernelTypes + [.f16, .bf16]
        let n = 5, rows = 300, columns = 1024  // panel: 256 rows, so two panels
        for (t, type) in types.enumerated() {
            let matrix: WeightMatrix
            if type == .f16 || type == .bf16 || type == .q5_1 {
                let values = Self.randomVector(rows * columns, seed: UInt64(t))
                let bytes = try Self.encode(values, as: type)
                matrix = try WeightMatrix(rows: rows, columns: columns, type: type, bytes: bytes)
            } else {
                matrix = try Self.randomMatrix(type, rows: rows, columns: columns, seed: UInt64(t + 7))
            }
            XCTAssertLessThan(matrix.panelRows, rows)
            let w = matrix.materializeFloat32().array()
            let x = Self.randomVector(n * columns, seed: 11)
            var y = [Float](repeating: 1, count: n * rows)
            matrix.multiply(x, rows: n, into: &y, accumulate: true)
            for i in 0..<n {
                for r in 0..<rows {
                    var expected = 1.0, magnitude = 1.0
                    for c in 0..<columns {
                        let p = Double(w[r * columns + c]) * Double(x[i * columns + c])
                        expected += p
                        magnitude += abs(p)
                    }
                    XCTAssertEqual(Double(y[i * rows + r]), expected, accuracy: 1e-5 * magnitude,
                                   "\(type) multiply")
                }
            }
            let dy = Self.randomVector(n * rows, seed: 12)
            var dx = [Float](repeating: 0, count: n * columns)
            matrix.multiplyTransposed(dy, rows: n, into: &dx)
            for i in 0..<n {
                for c in stride(from: 0, to: columns, by: 7) {
                    var expected = 0.0, magnitude = 1e-9
                    for r in 0..<rows {
                        let p = Double(dy[i * rows + r]) * Double(w[r * columns + c])
                        expected += p
                        magnitude += abs(p)
                    }
                    XCTAssertEqual(Double(dx[i * columns + c]), expected, accuracy: 1e-5 * magnitude,
                                   "\(type) multiplyTransposed")
                }
            }
        }
    }

    /// Rows, materialisation and the dense variant agree with the checkpoint dequantiser.
    func testRowsAndDenseVariant() throws {
        let matrix = try Self.randomMatrix(.q4_k, rows: 6, columns: 256, seed: 3)
        let all = matrix.materializeFloat32().array()
        XCTAssertEqual(matrix.row(4), Array(all[4 * 256..<5 * 256]))
        guard case .quantized(_, let bytes) = matrix.storage else { return XCTFail("not quantised") }
        let reference = try bytes.withUnsafeBytes { try dequantize(type: .q4_k, bytes: $0, count: 6 * 256) }
        XCTAssertEqual(all, reference)
        XCTAssertEqual(matrix.residentBytes, 6 * 144)

        let dense = WeightMatrix(rows: 6, columns: 256, values: FloatBuffer(all))
        let x = Self.randomVector(256, seed: 8)
        var fromDense = [Float](repeating: 0, count: 6), fromQuantised = fromDense
        dense.multiply(x, rows: 1, into: &fromDense)
        matrix.multiply(x, rows: 1, into: &fromQuantised)
        for r in 0..<6 { XCTAssertEqual(fromDense[r], fromQuantised[r], accuracy: 0.05 * max(1, abs(fromDense[r]))) }
    }

    /// A NaN or infinite f16 scale is found by reading the scales alone, in every scaled type.
    func testNonFiniteScalesAreFound() throws {
        for (t, type) in Self.kernelTypes.enumerated() {
            let matrix = try Self.randomMatrix(type, rows: 4, columns: 256, seed: UInt64(60 + t))
            guard case .quantized(_, let clean) = matrix.storage else { return XCTFail() }
            XCTAssertNil(matrix.firstNonFiniteBlock(), "\(type)")
            var bytes = [UInt8](clean)
            let block = 3, offset = type == .q6_k ? 208 : 0
            let position = block * type.bytesPerBlock! + offset
            bytes[position] = 0x00
            bytes[position + 1] = 0x7C  // f16 +infinity
            let broken = try WeightMatrix(rows: 4, columns: 256, type: type, bytes: Data(bytes))
            XCTAssertEqual(broken.firstNonFiniteBlock(), block, "\(type)")
            XCTAssertTrue(broken.materializeFloat32().array().contains { !$0.isFinite }, "\(type)")
        }
    }

    func testBadShapesAreRejected() {
        XCTAssertThrowsError(try WeightMatrix(rows: 2, columns: 100, type: .q8_0, bytes: Data(count: 10))) {
            XCTAssertEqual($0 as? WeightMatrixError, .partialBlock(type: .q8_0, columns: 100))
        }
        XCTAssertThrowsError(try WeightMatrix(rows: 2, columns: 32, type: .q8_0, bytes: Data(count: 34))) {
            XCTAssertEqual($0 as? WeightMatrixError, .byteCountMismatch(expected: 68, found: 34))
        }
        XCTAssertThrowsError(try WeightMatrix(rows: 1, columns: 256, type: .q2_k, bytes: Data(count: 84))) {
            XCTAssertEqual($0 as? WeightMatrixError, .unsupportedType(.q2_k))
        }
        XCTAssertEqual(locus_matvec(Int32(GGMLType.q2_k.id), nil, 0, 1, 256, nil, nil, nil, nil, 0), -1)
    }

    /// F16 / BF16 / Q5_1 bytes of `values` (round to nearest for the half types; Q5_1 by min/max).
    static func encode(_ values: [Float], as type: GGMLType) throws -> Data {
        var out = Data()
        switch type {
        case .f16:
            for v in values { withUnsafeBytes(of: Float16(v).bitPattern) { out.append(contentsOf: $0) } }
        case .bf16:
            for v in values {
                withUnsafeBytes(of: UInt16(v.bitPattern >> 16)) { out.append(contentsOf: $0) }
            }
        case .q5_1:
            for b in 0..<values.count / 32 {
                let block = values[32 * b..<32 * b + 32]
                let lo = block.min()!, hi = block.max()!
                let d = (hi - lo) / 31
                var qs = [UInt8](repeating: 0, count: 16)
                var qh: UInt32 = 0
                for (j, v) in block.enumerated() {
                    let q = UInt8(max(0, min(31, ((v - lo) / (d == 0 ? 1 : d)).rounded())))
                    qs[j % 16] |= (q & 0x0F) << (j >= 16 ? 4 : 0)
                    qh |= UInt32(q >> 4) << UInt32(j)
                }
                withUnsafeBytes(of: Float16(d).bitPattern) { out.append(contentsOf: $0) }
                withUnsafeBytes(of: Float16(lo).bitPattern) { out.append(contentsOf: $0) }
                withUnsafeBytes(of: qh) { out.append(contentsOf: $0) }
                out.append(contentsOf: qs)
            }
        default:
            throw WeightMatrixError.unsupportedType(type)
        }
        return out
    }
}
