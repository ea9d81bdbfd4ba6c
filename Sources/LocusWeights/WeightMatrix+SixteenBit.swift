import CLocusKernels
import Foundation
import LocusCheckpoint
import LocusTensor

extension WeightMatrix {
    /// Whether decode products of F16/BF16 matrices run `locus_matvec16` (W widened in registers,
    /// fp32 activations) instead of dequantising fp32 panels for sgemm. Initially true unless
    /// `LOCUS_MATVEC16=0` (kept for A/B measurements); process-wide, set it between forward passes.
    nonisolated(unsafe) public static var sixteenBitKernel: Bool =
        ProcessInfo.processInfo.environment["LOCUS_MATVEC16"] != "0"

    /// Up to this many rows of x take the 16-bit kernel (each weight row is read once for all of
    /// them); more rows (prefill) dequantise panels and call sgemm, which is compute-bound there.
    /// Measured on the bf16 Qwen2-0.5B shape (1 thread, whole-process CPU, kernel / panels): 6
    /// rows 0.56, 10 rows 0.74, 12 rows 1.06, 16 rows 1.15 (BENCHMARKS.md); 8 leaves a margin.
    /// `LOCUS_MATVEC16_MAX_ROWS` overrides it (for tuning measurements).
    static let sixteenBitMaxRows: Int = {
        if let text = ProcessInfo.processInfo.environment["LOCUS_MATVEC16_MAX_ROWS"], let value = Int(text),
            value >= 0
        {
            return value
        }
        return 8
    }()

    /// Whether `multiply` with `n` rows of x runs `locus_matvec16` for this stored type.
    func usesSixteenBitKernel(type: GGMLType, rows n: Int) -> Bool {
        Self.sixteenBitKernel && n <= Self.sixteenBitMaxRows
            && locus_matvec16_supports(Int32(type.id)) != 0
    }

    /// y = x·Wᵀ for F16/BF16 W: every weight widened to fp32 (exact) times the fp32 activation,
    /// accumulated in fp32 (`locus_matvec16`), W's rows split over `BLAS.threadCount` threads.
    /// Equal to the fp32 product up to the order of the additions.
    func multiplySixteenBit(
        _ x: UnsafePointer<Float>, rows n: Int, xStride: Int, into y: UnsafeMutablePointer<Float>,
        yStride: Int, accumulate: Bool, type: GGMLType, bytes: Data, path: Int32 = 0
    ) {
        let columns = self.columns, rowBytes = self.rowBytes
        bytes.withUnsafeBytes { raw in
            let base = UnsafeRawPointer(raw.baseAddress!)
            forEachRowChunk(n: n, into: y, yStride: yStride, accumulate: accumulate) { rows, target, targetStride in
                let status = locus_matvec16(
                    Int32(type.id), base + rows.lowerBound * rowBytes, rowBytes, Int64(rows.count), Int64(columns),
                    x, Int64(n), Int64(xStride), target + rows.lowerBound, Int64(targetStride), path)
                precondition(status == 0, "locus_matvec16 refused \(type) (\(self.rows), \(columns))")
            }
        }
    }
}
