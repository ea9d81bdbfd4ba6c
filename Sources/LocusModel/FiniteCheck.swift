/// Finding NaN and ±∞ in large float arrays quickly (weights at load, logits after a forward).
enum FiniteCheck {
    /// The index of the first NaN or ±∞ in `values`, or `nil`. Scans 8 lanes at a time with
    /// x·0, which is 0 for finite x and NaN for NaN and ±∞, so the common all-finite case is one
    /// vectorised pass (a few ms for 135 M weights) and only a failure looks for the index.
    static func firstNonFinite(_ values: UnsafeBufferPointer<Float>) -> Int? {
        let lanes = 8
        let whole = values.count / lanes
        var accumulator = SIMD8<Float>(repeating: 0)
        if let base = values.baseAddress {
            let raw = UnsafeRawPointer(base)
            let stride = lanes * MemoryLayout<Float>.size
            for block in 0..<whole {
                accumulator += raw.loadUnaligned(fromByteOffset: block * stride, as: SIMD8<Float>.self) * 0
            }
        }
        let clean = accumulator.sum() == 0 && values[(whole * lanes)...].allSatisfy(\.isFinite)
        return clean ? nil : values.firstIndex { !$0.isFinite }
    }
}
