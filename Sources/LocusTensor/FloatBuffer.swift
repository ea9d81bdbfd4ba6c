/// A fixed-size, heap-allocated run of `Float`s with a stable address.
///
/// Kernels take raw pointers (BLAS does), so activations and weights live in buffers whose
/// address never moves and which are never copied on write. A buffer is allocated once and reused:
/// first touch of fresh memory is slow on this machine, so work buffers grow but never shrink.
public final class FloatBuffer: @unchecked Sendable {
    public private(set) var pointer: UnsafeMutablePointer<Float>
    public private(set) var count: Int

    /// A zero-filled buffer of `count` elements.
    public init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// A buffer holding a copy of `values`.
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { pointer.deallocate() }

    /// Makes room for at least `needed` elements; contents are not preserved when it grows.
    public func reserve(_ needed: Int) {
        guard needed > count else { return }
        pointer.deallocate()
        pointer = .allocate(capacity: needed)
        pointer.initialize(repeating: 0, count: needed)
        count = needed
    }

    public subscript(index: Int) -> Float {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }

    /// The first `count` elements (all by default) as an array.
    public func array(count n: Int? = nil, from start: Int = 0) -> [Float] {
        Array(UnsafeBufferPointer(start: pointer + start, count: n ?? (count - start)))
    }

    public func fill(_ value: Float, count n: Int? = nil) {
        pointer.update(repeating: value, count: n ?? count)
    }
}
