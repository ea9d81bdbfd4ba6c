import CLocusKernels
import Foundation
import LocusCheckpoint
import LocusTensor

extension WeightMatrix {
    /// Rows of the fp32 panel a quantised product decodes at a time: `panelFloats` floats
    /// (1 MB by default; `LOCUS_PANEL_FLOATS` overrides it, for tuning measurements).
    var panelRows: Int { max(8, min(rows, Self.panelFloats / max(columns, 1))) }

    static let panelFloats: Int = {
        if let text = ProcessInfo.processInfo.environment["LOCUS_PANEL_FLOATS"], let value = Int(text), value > 0 {
            return value
        }
        return 1 << 18
    }()

    /// y = x·Wᵀ (+ y when `accumulate`).
    /// - x: (n, columns), row stride `xStride` (default `columns`)
    /// - y: (n, rows), row stride `yStride` (default `rows`)
    public func multiply(
        _ x: UnsafePointer<Float>, rows n: Int, xStride: Int? = nil,
        into y: UnsafeMutablePointer<Float>, yStride: Int? = nil, accumulate: Bool = false,
        path: KernelPath = .automatic
    ) {
        let xs = xStride ?? columns, ys = yStride ?? rows
        switch storage {
        case .dense(let w):
            BLAS.linear(
                x, rows: n, inputWidth: columns, xStride: xs, weight: w.pointer, outputWidth: rows,
                into: y, yStride: ys, accumulate: accumulate)
        case .stacked(let parts):
            var offset = 0
            for part in parts {
                part.multiply(x, rows: n, xStride: xs, into: y + offset, yStride: ys,
                              accumulate: accumulate, path: path)
                offset += part.rows
            }
        case .quantized(let type, let bytes):
            if usesSixteenBitKernel(type: type, rows: n) {
                multiplySixteenBit(
                    x, rows: n, xStride: xs, into: y, yStride: ys, accumulate: accumulate, type: type,
                    bytes: bytes)
                return
            }
            if hasQuantizedKernel, Self.activationQuantization.quantizes(rows: n) {
                multiplyQuantized(
                    x, rows: n, xStride: xs, into: y, yStride: ys, accumulate: accumulate, type: type,
                    bytes: bytes, path: path)
                return
            }
            forEachPanel { start, count, panel in
                // y[:, start..<start+count] = x · panelᵀ
                BLAS.gemm(
                    transposeB: true, m: n, n: count, k: columns, a: x, lda: xs, b: panel,
                    ldb: columns, beta: accumulate ? 1 : 0, c: y + start, ldc: ys)
            }
        }
    }

    /// dx = dy·W (+ dx when `accumulate`): the backward of `multiply` toward its input.
    /// - dy: (n, rows), row stride `dyStride` (default `rows`); dx: (n, columns)
    public func multiplyTransposed(
        _ dy: UnsafePointer<Float>, rows n: Int, dyStride: Int? = nil,
        into dx: UnsafeMutablePointer<Float>, accumulate: Bool = false
    ) {
        let dys = dyStride ?? rows
        switch storage {
        case .dense(let w):
            BLAS.gemm(
                m: n, n: columns, k: rows, a: dy, lda: dys, b: w.pointer, ldb: columns,
                beta: accumulate ? 1 : 0, c: dx, ldc: columns)
        case .stacked(let parts):
            var offset = 0
            for (k, part) in parts.enumerated() {
                part.multiplyTransposed(
                    dy + offset, rows: n, dyStride: dys, into: dx, accumulate: accumulate || k > 0)
                offset += part.rows
            }
        case .quantized:
            if !accumulate { dx.update(repeating: 0, count: n * columns) }
            forEachPanel { start, count, panel in
                // dx += dy[:, start..<start+count] · panel
                BLAS.gemm(
                    m: n, n: columns, k: count, a: dy + start, lda: dys, b: panel, ldb: columns,
                    beta: 1, c: dx, ldc: columns)
            }
        }
    }

    /// Rows `range` as fp32, written to `out` (range.count · columns elements).
    public func readRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) of \(rows)")
        switch storage {
        case .dense(let w):
            out.update(from: w.pointer + range.lowerBound * columns, count: range.count * columns)
        case .stacked(let parts):
            var first = 0
            for part in parts {
                let local = max(range.lowerBound, first)..<min(range.upperBound, first + part.rows)
                if !local.isEmpty {
                    part.readRows(
                        local.lowerBound - first..<local.upperBound - first,
                        into: out + (local.lowerBound - range.lowerBound) * columns)
                }
                first += part.rows
            }
        case .quantized(let type, let bytes):
            let rowBytes = self.rowBytes
            bytes.withUnsafeBytes { raw in
                let slice = UnsafeRawBufferPointer(
                    rebasing: raw[range.lowerBound * rowBytes..<range.upperBound * rowBytes])
                // The sizes were checked at init; this cannot throw.
                try! dequantize(
                    type: type, bytes: slice,
                    into: UnsafeMutableBufferPointer(start: out, count: range.count * columns))
            }
        }
    }

    /// Row `r` as fp32 (e.g. an embedding lookup).
    public func row(_ r: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: columns) { buffer, initialised in
            readRows(r..<r + 1, into: buffer.baseAddress!)
            initialised = columns
        }
    }

    /// The whole matrix as fp32, (rows, columns): for an edit (ROME, fine-tuning) of this one
    /// matrix, or for the `--weights f32` reference.
    public func materializeFloat32() -> FloatBuffer {
        let out = FloatBuffer(count: rows * columns)
        readRows(0..<rows, into: out.pointer)
        return out
    }

    /// Calls `body(start, count, panel)` for consecutive row panels of the dequantised matrix.
    private func forEachPanel(_ body: (Int, Int, UnsafePointer<Float>) -> Void) {
        let step = panelRows
        let panel = UnsafeMutablePointer<Float>.allocate(capacity: step * columns)
        defer { panel.deallocate() }
        var start = 0
        while start < rows {
            let count = min(step, rows - start)
            readRows(start..<start + count, into: panel)
            body(start, count, panel)
            start += count
        }
    }

    /// The int8 kernels: each of the n rows of x quantised to 8 bits per 32 elements
    /// (`locus_quantize_activation`), then `locus_matvec` (n = 1) or `locus_matmul` (n > 1: the
    /// register-tiled int8 GEMM for Q8_0/Q4_0/Q4_1/Q5_0/Q4_K/Q6_K, else row kernels over W tiles kept in cache)
    /// on the stored blocks, W's rows split over
    /// `BLAS.threadCount` threads (called inline with one thread: a decode step makes ~120 such
    /// calls on SmolLM2, so per-call overhead counts).
    private func multiplyQuantized(
        _ x: UnsafePointer<Float>, rows n: Int, xStride: Int, into y: UnsafeMutablePointer<Float>,
        yStride: Int, accumulate: Bool, type: GGMLType, bytes: Data, path: KernelPath
    ) {
        let columns = self.columns, rowBytes = self.rowBytes
        let blocks = columns / 32
        let q = UnsafeMutablePointer<Int8>.allocate(capacity: n * columns)
        let scale = UnsafeMutablePointer<Float>.allocate(capacity: n * blocks)
        let sum = UnsafeMutablePointer<Int32>.allocate(capacity: n * blocks)
        defer {
            q.deallocate()
            scale.deallocate()
            sum.deallocate()
        }
        for i in 0..<n {
            locus_quantize_activation(
                x + i * xStride, Int64(columns), q + i * columns, scale + i * blocks, sum + i * blocks)
        }
        bytes.withUnsafeBytes { raw in
            let base = UnsafeRawPointer(raw.baseAddress!)
            forEachRowChunk(n: n, into: y, yStride: yStride, accumulate: accumulate) { rows, target, targetStride in
                Self.runInt8Kernel(
                    type: type, base: base, rowBytes: rowBytes, rows: rows, columns: columns, n: n,
                    q: q, scale: scale, sum: sum, y: target, yStride: targetStride, path: path)
            }
        }
    }

    /// Runs `kernel(rows, target, targetStride)` over chunks of W's rows that together cover
    /// 0..<rows: up to `BLAS.threadCount` chunks of at least 64 rows each, on concurrent workers
    /// (inline when there is one chunk: a decode step makes ~120 calls, so per-call overhead
    /// counts). `target` is y itself, or with `accumulate` a scratch (n, rows) block that is
    /// added into y afterwards. Each call writes only its chunk's columns of target's n rows.
    func forEachRowChunk(
        n: Int, into y: UnsafeMutablePointer<Float>, yStride: Int, accumulate: Bool,
        _ kernel: (Range<Int>, UnsafeMutablePointer<Float>, Int) -> Void
    ) {
        let rows = self.rows
        let target = accumulate ? UnsafeMutablePointer<Float>.allocate(capacity: n * rows) : y
        let targetStride = accumulate ? rows : yStride
        defer {
            if accumulate {
                for i in 0..<n {
                    for r in 0..<rows { y[i * yStride + r] += target[i * rows + r] }
                }
                target.deallocate()
            }
        }
        let threads = max(1, min(BLAS.threadCount, rows / 64))
        if threads == 1 {
            kernel(0..<rows, target, targetStride)
            return
        }
        // The workers only run while this call waits for them, so `kernel` does not escape.
        withoutActuallyEscaping(kernel) { kernel in
            let shared = UnsafeSendable((kernel, target))
            DispatchQueue.concurrentPerform(iterations: threads) { chunk in
                let (kernel, target) = shared.value
                kernel(rows * chunk / threads..<rows * (chunk + 1) / threads, target, targetStride)
            }
        }
    }

    /// Rows `rows` of W (stored at `base`) times the n quantised activation rows, into columns
    /// `rows` of y's n rows.
    private static func runInt8Kernel(
        type: GGMLType, base: UnsafeRawPointer, rowBytes: Int, rows: Range<Int>, columns: Int, n: Int,
        q: UnsafePointer<Int8>, scale: UnsafePointer<Float>, sum: UnsafePointer<Int32>,
        y: UnsafeMutablePointer<Float>, yStride: Int, path: KernelPath
    ) {
        let weights = base + rows.lowerBound * rowBytes
        let status =
            n == 1
            ? locus_matvec(
                Int32(type.id), weights, rowBytes, Int64(rows.count), Int64(columns), q, scale, sum,
                y + rows.lowerBound, path.rawValue)
            : locus_matmul(
                Int32(type.id), weights, rowBytes, Int64(rows.count), Int64(columns), Int64(n), q, scale,
                sum, y + rows.lowerBound, Int64(yStride), path.rawValue)
        precondition(status == 0, "the int8 kernel refused \(type) (\(rows.count), \(columns))")
    }
}

/// A pointer handed to `concurrentPerform` workers that write disjoint ranges.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
