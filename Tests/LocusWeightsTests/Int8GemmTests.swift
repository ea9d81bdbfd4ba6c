import CLocusKernels
import Foundation
import LocusCheckpoint
import LocusTensor
@testable import LocusWeights
import XCTest

/// The register-tiled int8 GEMM (`locus_matmul` on Q8_0 / Q4_0 / Q4_1 / Q4_K / Q6_K,
/// gemm_q8_body.h) against
/// its naive twin, on every path this CPU runs: W dequantised to fp32 (the checkpoint
/// dequantisers, pinned to gguf-py elsewhere) times the quantised activation x̂ = scale_b · q,
/// summed in Double. Tolerance: 1e-5 of Σ_c |W_rc · x̂_c| (float summation order only: the integer
/// block dots are exact). Against the unquantised x the bound is the decode bound
/// Σ_b (s_b/2) · Σ_{c∈b} |W_rc| plus the same slack.
final class Int8GemmTests: XCTestCase {
    static let gemmTypes: [GGMLType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q4_k, .q6_k]

    /// What `locus_matmul` should run for `type` on `path` on this CPU.
    func expectedKind(_ type: GGMLType, _ path: KernelPath) -> LocusMatmulKind {
        switch path {
        case .scalar: return LOCUS_MATMUL_ROWS
        case .avx2: return type == .q8_0 ? LOCUS_MATMUL_ROWS : LOCUS_MATMUL_GEMM_AVX2
        case .avxVNNI: return LOCUS_MATMUL_GEMM_AVX_VNNI
        case .avx512VNNI, .automatic:
            if KernelPath.hasAVX512VNNI { return LOCUS_MATMUL_GEMM_AVX512_VNNI }
            if KernelPath.hasAVXVNNI { return LOCUS_MATMUL_GEMM_AVX_VNNI }
            return type == .q8_0 ? LOCUS_MATMUL_ROWS : LOCUS_MATMUL_GEMM_AVX2
        }
    }

    /// Odd shapes: n = 1, 2, 3, 7, 128 activation rows; 37 weight rows (not a multiple of any
    /// tile height); 544 columns = 17 blocks (an odd count: the 512-bit GEMM's last block runs
    /// through the scalar row kernel) and 512 = 16 blocks; the K-quants (256-element super-blocks)
    /// 768 and 512.
    func testGemmMatchesNaiveTwinOnEveryPath() throws {
        let rows = 37
        for (t, type) in Self.gemmTypes.enumerated() {
            for columns in type.blockSize == 256 ? [768, 512] : [544, 512] {
                let matrix = try WeightMatrixTests.randomMatrix(
                    type, rows: rows, columns: columns, seed: UInt64(300 + 10 * t + columns % 7))
                let w = matrix.materializeFloat32().array()
                guard case .quantized(_, let bytes) = matrix.storage else { return XCTFail("\(type)") }
                for n in [1, 2, 3, 7, 128] {
                    let x = WeightMatrixTests.randomVector(n * columns, seed: UInt64(7 + n))
                    let blocks = columns / 32
                    var q = [Int8](repeating: 0, count: n * columns)
                    var scale = [Float](repeating: 0, count: n * blocks)
                    var sum = [Int32](repeating: 0, count: n * blocks)
                    q.withUnsafeMutableBufferPointer { qp in
                        scale.withUnsafeMutableBufferPointer { sp in
                            sum.withUnsafeMutableBufferPointer { cp in
                                x.withUnsafeBufferPointer { xp in
                                    for i in 0..<n {
                                        locus_quantize_activation(
                                            xp.baseAddress! + i * columns, Int64(columns), qp.baseAddress! + i * columns,
                                            sp.baseAddress! + i * blocks, cp.baseAddress! + i * blocks)
                                    }
                                }
                            }
                        }
                    }
                    let xq = (0..<n * columns).map { scale[$0 / 32] * Float(q[$0]) }
                    for path in [KernelPath.automatic] + KernelPath.available {
                        XCTAssertEqual(
                            locus_matmul_path(Int32(type.id), path.rawValue),
                            Int32(expectedKind(type, path).rawValue), "\(type) \(path)")
                        let ldy = rows + 3
                        var y = [Float](repeating: .nan, count: n * ldy)
                        let status = bytes.withUnsafeBytes { raw in
                            locus_matmul(
                                Int32(type.id), raw.baseAddress, matrix.rowBytes, Int64(rows), Int64(columns),
                                Int64(n), q, scale, sum, &y, Int64(ldy), path.rawValue)
                        }
                        XCTAssertEqual(status, 0)
                        for i in 0..<n {
                            for r in 0..<rows {
                                var naive = 0.0, exact = 0.0, magnitude = 1e-12, bound = 0.0
                                for c in 0..<columns {
                                    let wv = Double(w[r * columns + c])
                                    naive += wv * Double(xq[i * columns + c])
                                    exact += wv * Double(x[i * columns + c])
                                    magnitude += abs(wv * Double(xq[i * columns + c]))
                                    bound += Double(scale[i * blocks + c / 32]) / 2 * abs(wv)
                                }
                                let got = Double(y[i * ldy + r])
                                XCTAssertEqual(got, naive, accuracy: 1e-5 * magnitude,
                                               "\(type) \(path) n \(n) cols \(columns) [\(i), \(r)]")
                                XCTAssertLessThanOrEqual(abs(got - exact), bound + 1e-5 * magnitude,
                                                         "\(type) \(path) bound")
                            }
                            for r in rows..<ldy { XCTAssertTrue(y[i * ldy + r].isNaN, "wrote past rows") }
                        }
                    }
                }
            }
        }
    }

    /// Through `WeightMatrix.multiply` with `.all`: 130 rows split over two threads (65 each: the
    /// second part starts inside a 4-row tile of the whole), 5 activation rows, each path; equal
    /// to the row-kernel loop (`.scalar`) to float rounding.
    func testMultiplyAllUsesGemmOnEveryPath() throws {
        let saved = WeightMatrix.activationQuantization, savedThreads = BLAS.threadCount
        defer {
            WeightMatrix.activationQuantization = saved
            BLAS.setThreadCount(savedThreads)
        }
        WeightMatrix.activationQuantization = .all
        BLAS.setThreadCount(2)
        let rows = 130, columns = 1024, n = 5
        for (t, type) in Self.gemmTypes.enumerated() {
            let matrix = try WeightMatrixTests.randomMatrix(type, rows: rows, columns: columns, seed: UInt64(500 + t))
            let w = matrix.materializeFloat32().array()
            let x = WeightMatrixTests.randomVector(n * columns, seed: 77)
            var reference = [Float](repeating: 0, count: n * rows)
            matrix.multiply(x, rows: n, into: &reference, path: .scalar)
            for path in [KernelPath.automatic] + KernelPath.available {
                var y = [Float](repeating: 0, count: n * rows)
                matrix.multiply(x, rows: n, into: &y, path: path)
                for i in 0..<n {
                    for r in 0..<rows {
                        let magnitude = (0..<columns).reduce(1e-12) {
                            $0 + abs(Double(w[r * columns + $1]) * Double(x[i * columns + $1]))
                        }
                        XCTAssertEqual(Double(y[i * rows + r]), Double(reference[i * rows + r]),
                                       accuracy: 2e-5 * magnitude, "\(type) \(path)")
                    }
                }
            }
        }
    }
}
