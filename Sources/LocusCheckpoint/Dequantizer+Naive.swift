/// The naive twin of the fast kernels: one element at a time from the block layout, with array
/// indexing and a hand-written half → single conversion, so that it shares no code with them.
/// Only the tests use it; they require both to agree bit for bit.
extension Dequantizer {
    static func naive(_ type: GGMLType, bytes: [UInt8], count: Int) -> [Float]? {
        var out = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let block = i / 32
            let j = i % 32
            switch type {
            case .f32:
                let bits = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[4 * i + $1]) << (8 * $1) }
                out[i] = Float(bitPattern: bits)
            case .f16:
                out[i] = naiveHalf(bytes[2 * i], bytes[2 * i + 1])
            case .bf16:
                let bits = UInt32(bytes[2 * i]) << 16 | UInt32(bytes[2 * i + 1]) << 24
                out[i] = Float(bitPattern: bits)
            case .q8_0:
                let start = 34 * block
                let d = naiveHalf(bytes[start], bytes[start + 1])
                out[i] = d * Float(Int8(bitPattern: bytes[start + 2 + j]))
            case .q4_0:
                let start = 18 * block
                let d = naiveHalf(bytes[start], bytes[start + 1])
                out[i] = d * Float(nibble(bytes[start + 2 + j % 16], high: j >= 16) - 8)
            case .q4_1:
                let start = 20 * block
                let d = naiveHalf(bytes[start], bytes[start + 1])
                let m = naiveHalf(bytes[start + 2], bytes[start + 3])
                let product = d * Float(nibble(bytes[start + 4 + j % 16], high: j >= 16))
                out[i] = product + m
            default:
                return nil
            }
        }
        return out
    }

    private static func nibble(_ byte: UInt8, high: Bool) -> Int {
        Int(high ? byte >> 4 : byte & 0x0F)
    }

    /// IEEE 754 binary16 (1 sign, 5 exponent bits biased by 15, 10 fraction bits) → binary32.
    /// Subnormal halves are fraction·2⁻²⁴, exact in single precision. NaNs keep their payload
    /// and become quiet, as `vcvtph2ps` does.
    static func naiveHalf(_ low: UInt8, _ high: UInt8) -> Float {
        let h = UInt32(low) | UInt32(high) << 8
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let exponent = Int((h >> 10) & 0x1F)
        let fraction = h & 0x3FF
        switch exponent {
        case 0:
            return sign * Float(fraction) * 0x1p-24
        case 31:
            let quiet: UInt32 = fraction == 0 ? 0 : 0x0040_0000
            return Float(bitPattern: (h & 0x8000) << 16 | 0x7F80_0000 | fraction << 13 | quiet)
        default:
            return sign * Float(bitPattern: UInt32(exponent - 15 + 127) << 23 | fraction << 13)
        }
    }
}
