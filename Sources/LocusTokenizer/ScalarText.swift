/// A text as Unicode scalars, with each scalar's class and UTF-8 offset, so the scanners can
/// work on indices and pieces can be cut out of the UTF-8 bytes without re-encoding.
struct ScalarText {
    /// Scalar values, in order.
    var values: [UInt32] = []
    /// `kinds[i]` classifies `values[i]`.
    var kinds: [ScalarKind] = []
    /// `utf8Offsets[i]` is where scalar `i` starts in `utf8`; one extra entry holds the length.
    var utf8Offsets: [Int] = []
    /// The text's UTF-8 bytes.
    var utf8: [UInt8] = []

    init(_ text: String) {
        utf8 = Array(text.utf8)
        let capacity = utf8.count
        values.reserveCapacity(capacity)
        kinds.reserveCapacity(capacity)
        utf8Offsets.reserveCapacity(capacity + 1)
        var offset = 0
        for scalar in text.unicodeScalars {
            values.append(scalar.value)
            kinds.append(ScalarKind(scalar))
            utf8Offsets.append(offset)
            offset += UTF8.width(scalar)
        }
        utf8Offsets.append(offset)
    }

    var count: Int { values.count }

    /// The UTF-8 byte range of the scalars `range`.
    func utf8Range(_ range: Range<Int>) -> Range<Int> {
        utf8Offsets[range.lowerBound]..<utf8Offsets[range.upperBound]
    }
}
