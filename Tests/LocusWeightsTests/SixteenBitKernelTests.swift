import CLocusKernels
import Foundation
import LocusCheckpoint
import LocusTensor
@testable import LocusWeights
import XCTest

/// `locus_matvec16` (F16/BF16 weights × fp32 activations, the decode product of 16-bit stored
/// matrices) against its naive twin: the weights widened by the checkpoint dequantiser, then plain
/// loops in Double. Every path this CPU has (scalar, AVX2, AVX-512) and odd column counts (the
/// vector loops' tails).
final class SixteenBitKernelTests: XCTestCase {
    static let types: [GGMLType] = [.f16, .bf16]

    /// The paths to test: scalar always, the vector ones where the CPU has them.
    static var paths: [Int32] {
        var paths = [Int32(LOCUS_MV16_SCALAR.rawValue)]
        if locus_cpu_has_avx2_fma() != 0 { paths.append(Int32(LOCUS_MV16_AVX2.rawValue)) }
        if locus_cpu_has_avx512f() != 0 { paths.append(Int32(LOCUS_MV16_AVX512.rawValue)) }
        return paths
    }

    func matrix(_ type: GGMLType, rows: Int, columns: Int, seed: UInt64) throws -> (WeightMatrix, [Float]) {
        let values = WeightMatrixTests.randomVector(rows * columns, seed: seed)
        let bytes = try WeightMatrixTests.encode(values, as: type)
        let matrix = try WeightMatrix(rows: rows, columns: columns, type: type, bytes: bytes)
        // The widened weights, by the dequantiser pinned to gguf-py (LocusCheckpointTests).
        return (matrix, matrix.materializeFloat32().array())
    }

    /// y[i, r] within 1e-6 · Σ_c |w·x| of the Double product (float rounding of ~1000 terms).
    func checkAgainstTwin(
        _ y: [Float], ldy: Int, w: [Float], x: [Float], n: Int, rows: Int, columns: Int, _ label: String
    ) {
        for i in 0..<n {
            for r in 0..<rows {
                var expected = 0.0, magnitude = 1e-30
                for c in 0..<columns {
                    let p = Double(w[r * columns + c]) * Double(x[i * columns + c])
                    expected += p
                    magnitude += abs(p)
                }
                XCTAssertEqual(Double(y[i * ldy + r]), expected, accuracy: 1e-6 * magnitude, "\(label) y[\(i), \(r)]")
            }
        }
    }

    func testKernelMatchesNaiveTwinOnEveryPath() throws {
        let rows = 37
        for (t, type) in Self.types.enumerated() {
            for columns in [1, 7, 16, 64, 135, 1029] {
                let (m, w) = try matrix(type, rows: rows, columns: columns, seed: UInt64(10 * t + columns))
                guard case .quantized(_, let bytes) = m.storage else { return XCTFail("\(type) not stored") }
                for n in [1, 3] {
                    let x = WeightMatrixTests.randomVector(n * columns, seed: UInt64(columns + n))
                    for path in Self.paths {
                        var y = [Float](repeating: .nan, count: n * rows)
                        let status = bytes.withUnsafeBytes {
                            locus_matvec16(
                                Int32(type.id), $0.baseAddress, m.rowBytes, Int64(rows), Int64(columns), x,
                                Int64(n), Int64(columns), &y, Int64(rows), path)
                        }
                        XCTAssertEqual(status, 0)
                        checkAgainstTwin(
                            y, ldy: rows, w: w, x: x, n: n, rows: rows, columns: columns,
                            "\(type) columns \(columns) n \(n) path \(path)")
                    }
                }
            }
        }
    }

    /// Widening is exact: with x = e_c every output is one stored weight, bit for bit, including
    /// the extremes (largest finite, subnormals, −0).
    func testWideningIsExact() throws {
        let columns = 48, rows = 4
        let specials: [Float] = [
            65504, -65504, 6.1035156e-05, 5.9604645e-08, -0.0, 1, -2.5, 1e-3,
            3.3895314e38, -1.1754944e-38, 9.18355e-41, 0.1,
        ]
        for type in Self.types {
            var values = WeightMatrixTests.randomVector(rows * columns, seed: 5)
            for (k, v) in specials.enumerated() where type == .bf16 || abs(v) <= 65504 {
                values[k * 3 % (rows * columns)] = v
            }
            let bytes = try WeightMatrixTests.encode(values, as: type)
            let exact = try bytes.withUnsafeBytes { try dequantize(type: type, bytes: $0, count: rows * columns) }
            // The extremes survived encoding: f16's smallest subnormal 2⁻²⁴; a bf16 (fp32) subnormal.
            XCTAssertTrue(
                type == .f16 ? exact.contains(0x1p-24) : exact.contains { $0.isSubnormal }, "\(type)")
            for path in Self.paths {
                for c in 0..<columns {
                    var x = [Float](repeating: 0, count: columns)
                    x[c] = 1
                    var y = [Float](repeating: .nan, count: rows)
                    _ = bytes.withUnsafeBytes {
                        locus_matvec16(
                            Int32(type.id), $0.baseAddress, 2 * columns, Int64(rows), Int64(columns), x, 1,
                            Int64(columns), &y, Int64(rows), path)
                    }
                    for r in 0..<rows {
                        let want = exact[r * columns + c]
                        // x·0 adds +0 to −0 products of other columns, so −0 comes out +0.
                        XCTAssertEqual(y[r], want == 0 ? 0 : want, "\(type) path \(path) W[\(r), \(c)]")
                    }
                }
            }
        }
    }

    /// Through `WeightMatrix.multiply`: one and four rows, with and without `accumulate`, one and
    /// two threads, against the twin and against the panel path (dequantise + sgemm).
    func testWeightMatrixDecodeUsesKernelAndMatchesPanels() throws {
        let rows = 300, columns = 1024
        let threads = BLAS.threadCount
        defer {
            BLAS.setThreadCount(threads)
            WeightMatrix.sixteenBitKernel = true
        }
        for (t, type) in Self.types.enumerated() {
            let (m, w) = try matrix(type, rows: rows, columns: columns, seed: UInt64(40 + t))
            WeightMatrix.sixteenBitKernel = true
            XCTAssertTrue(m.usesSixteenBitKernel(type: type, rows: 1))
            XCTAssertFalse(m.usesSixteenBitKernel(type: type, rows: WeightMatrix.sixteenBitMaxRows + 1))
            for n in [1, 4] {
                let x = WeightMatrixTests.randomVector(n * columns, seed: UInt64(n))
                for threadCount in [1, 2] {
                    BLAS.setThreadCount(threadCount)
                    WeightMatrix.sixteenBitKernel = true
                    var y = [Float](repeating: 0.5, count: n * rows)
                    m.multiply(x, rows: n, into: &y, accumulate: true)
                    for k in y.indices { y[k] -= 0.5 }
                    checkAgainstTwin(y, ldy: rows, w: w, x: x, n: n, rows: rows, columns: columns,
                                     "\(type) n \(n) threads \(threadCount)")
                    WeightMatrix.sixteenBitKernel = false
                    var panels = [Float](repeating: 0, count: n * rows)
                    m.multiply(x, rows: n, into: &panels)
                    for k in y.indices {
                        XCTAssertEqual(y[k], panels[k], accuracy: 1e-4 * max(1, abs(panels[k])), "\(type) vs panels")
                    }
                }
            }
        }
    }

    func testUnsupportedTypesAreRefused() {
        XCTAssertEqual(locus_matvec16_supports(Int32(GGMLType.q8_0.id)), 0)
        XCTAssertEqual(locus_matvec16_supports(Int32(GGMLType.f32.id)), 0)
        XCTAssertEqual(locus_matvec16(Int32(GGMLType.q8_0.id), nil, 0, 1, 32, nil, 1, 32, nil, 1, 0), -1)
        XCTAssertEqual(locus_matvec16(Int32(GGMLType.bf16.id), nil, 0, -1, 32, nil, 1, 32, nil, 1, 0), -1)
    }
}
