/// GPT-2's reversible map between bytes and printable Unicode scalars (`bytes_to_unicode`).
///
/// Byte-level BPE vocabularies store tokens as strings over 256 printable scalars, one per byte:
/// - the 188 bytes that are printable Latin-1 map to themselves: 0x21–0x7E (`!`…`~`),
///   0xA1–0xAC (`¡`…`¬`) and 0xAE–0xFF (`®`…`ÿ`);
/// - the other 68 (0x00–0x20, 0x7F–0xA0, 0xAD) map, in increasing byte order, to
///   U+0100, U+0101, …, U+0143.
///
/// So space 0x20 becomes `Ġ` (U+0120), newline 0x0A becomes `Ċ` (U+010A), tab becomes `ĉ`.
enum ByteLevel {
    /// `scalarValues[b]` is the scalar that stands for byte `b`.
    static let scalarValues: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 0x100
        for byte in 0..<256 {
            if isPrintable(byte) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// `bytes[v]` is the byte that scalar value `v` stands for, or -1; `v` < 0x144.
    static let bytes: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (byte, value) in scalarValues.enumerated() { table[Int(value)] = Int16(byte) }
        return table
    }()

    private static func isPrintable(_ byte: Int) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// The scalar that stands for `byte`.
    static func scalar(for byte: UInt8) -> Unicode.Scalar {
        Unicode.Scalar(scalarValues[Int(byte)])!
    }

    /// The byte `scalar` stands for, or `nil` if it is not one of the 256 byte scalars.
    static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let value = Int(scalar.value)
        guard value < bytes.count, bytes[value] >= 0 else { return nil }
        return UInt8(bytes[value])
    }

    /// The byte-level form of UTF-8 bytes, e.g. `" the"` → `"Ġthe"`.
    static func string<Bytes: Sequence>(for utf8: Bytes) -> String where Bytes.Element == UInt8 {
        var scalars = String.UnicodeScalarView()
        for byte in utf8 { scalars.append(scalar(for: byte)) }
        return String(scalars)
    }

    /// The bytes of a byte-level string, or `nil` if a scalar is not a byte scalar.
    static func bytes(of token: String) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            guard let byte = byte(for: scalar) else { return nil }
            result.append(byte)
        }
        return result
    }
}
