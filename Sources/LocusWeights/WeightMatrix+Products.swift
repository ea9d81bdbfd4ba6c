import CLocusKernels
import Foundation
import LocusCheckpoint
import LocusTensor

extension WeightMatrix {
    /// Rows of the fp32 panel a quantised product decodes at a time: about 1 MB of floats.
    var panelRows: Int { max(8, min(rows, (1 << 18) / max(columns, 1))) }

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
            if n == 1, hasQuantizedKernel {
                multiplyVector(x, into: y, accumulate: accumulate, type: type, bytes: bytes, path: path)
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

    /// The decode kernel: x quantised to 8 bits per 32 elements, rows split over
    /// `BLAS.threadCount` threads.
    private func multiplyVector(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, accumulate: Bool,
        type: GGMLType, bytes: Data, path: KernelPath
    ) {
        let blocks = columns / 32
        var q = [Int8](repeating: 0, count: columns)
        var scale = [Float](repeating: 0, count: blocks)
        var sum = [Int32](repeating: 0, count: blocks)
        locus_quantize_activation(x, Int64(columns), &q, &scale, &sum)
        let target = accumulate ? UnsafeMutablePointer<Float>.allocate(capacity: rows) : y
        defer {
            if accumulate {
                for r in 0..<rows { y[r] += target[r] }
                target.deallocate()
            }
        }
        let rowBytes = self.rowBytes, rows = self.rows, columns = self.columns
        let threads = max(1, min(BLAS.threadCount, rows / 64))
        let out = UnsafeSendable(target)
        bytes.withUnsafeBytes { raw in
            let base = UnsafeSendable(UnsafeMutableRawPointer(mutating: raw.baseAddress!))
            q.withUnsafeBufferPointer { q in
                scale.withUnsafeBufferPointer { scale in
                    sum.withUnsafeBufferPointer { sum in
                        let q = UnsafeSendable(q.baseAddress!), scale = UnsafeSendable(scale.baseAddress!)
                        let sum = UnsafeSendable(sum.baseAddress!)
                        DispatchQueue.concurrentPerform(iterations: threads) { chunk in
                            let lo = rows * chunk / threads, hi = rows * (chunk + 1) / threads
                            let status = locus_matvec(
                                Int32(type.id), base.value + lo * rowBytes, rowBytes, Int64(hi - lo),
                                Int64(columns), q.value, scale.value, sum.value, out.value + lo,
                                Int32(path.rawValue))
                            precondition(status == 0, "locus_matvec refused \(type) (\(rows), \(columns))")
                        }
                    }
                }
            }
        }
    }
}

/// A pointer handed to `concurrentPerform` workers that write disjoint ranges.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
