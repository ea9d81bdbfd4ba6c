import Foundation

/// Eight-lane loads, stores and element-wise loops shared by the vectorised kernels. A run whose
/// length is not a multiple of eight ends with one zero-padded vector, so a kernel's lane
/// function must be safe at 0.
enum Lanes {
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// |v| lane by lane (clears the sign bit).
    @inline(__always)
    static func magnitude(_ v: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
    }

    /// The `n` (< 8) elements at `p + i` in the low lanes, zeros above.
    @inline(__always)
    static func loadTail(_ p: UnsafePointer<Float>, _ i: Int, _ n: Int) -> SIMD8<Float> {
        var v = SIMD8<Float>(repeating: 0)
        for j in 0..<n { v[j] = p[i + j] }
        return v
    }

    @inline(__always)
    static func storeTail(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ n: Int) {
        for j in 0..<n { p[i + j] = v[j] }
    }

    /// y[i] = f(a[i]) for i in 0..<count; y may alias a.
    @inline(__always)
    static func map(
        _ a: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>,
        _ f: (SIMD8<Float>) -> SIMD8<Float>
    ) {
        var i = 0
        while i + 8 <= count {
            store(f(load(a, i)), y, i)
            i += 8
        }
        if i < count { storeTail(f(loadTail(a, i, count - i)), y, i, count - i) }
    }

    /// y[i] = f(a[i], b[i]); y may alias a or b.
    @inline(__always)
    static func map(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int,
        into y: UnsafeMutablePointer<Float>, _ f: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>
    ) {
        var i = 0
        while i + 8 <= count {
            store(f(load(a, i), load(b, i)), y, i)
            i += 8
        }
        if i < count {
            let n = count - i
            storeTail(f(loadTail(a, i, n), loadTail(b, i, n)), y, i, n)
        }
    }

    /// Σ a[i]·b[i] with eight partial sums (the order differs from a sequential loop in the last
    /// bits; the twins in the tests accumulate in `Double`). A multiply then an add, not
    /// `addingProduct`: without `-target-cpu` (no unsafe flags, issue 15) a fused multiply-add
    /// is a library call per lane on baseline x86-64, 3–4× slower than the two instructions.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= count {
            acc += load(a, i) * load(b, i)
            i += 8
        }
        var s = acc.sum()
        while i < count {
            s += a[i] * b[i]
            i += 1
        }
        return s
    }

    /// Σ a[i].
    @inline(__always)
    static func sum(_ a: UnsafePointer<Float>, count: Int) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= count {
            acc += load(a, i)
            i += 8
        }
        var s = acc.sum()
        while i < count {
            s += a[i]
            i += 1
        }
        return s
    }

    /// Splits 0..<count into at most `threads` runs whose starts are multiples of 8 and calls
    /// `body(start, length)` for each, concurrently when there is more than one.
    static func parallel(
        count: Int, threads: Int, minimumRun: Int = 4096,
        _ body: @Sendable (_ start: Int, _ length: Int) -> Void
    ) {
        let chunks = max(1, min(threads, count / max(minimumRun, 8)))
        if chunks == 1 {
            body(0, count)
            return
        }
        let run = ((count + chunks - 1) / chunks + 7) / 8 * 8
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let start = c * run
            if start < count { body(start, min(run, count - start)) }
        }
    }
}
