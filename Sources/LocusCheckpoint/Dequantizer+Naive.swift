/// The naive twin of the fast kernels: one element at a time from the block layout, with array
/// indexing and a hand-written half → single conversion, so that it shares no code with them.
/// Only the tests use it; they require both to agree bit for bit.
extension Dequantizer {
    static func naive(_ type: GGMLType, bytes: [UInt8], count: Int) -> [Float]? {
        var out = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let block = i / 32
            let j = i % 32  // (the k-quants index their 256-element super-blocks themselves)
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
            case .q5_0:
                let start = 22 * block
                let d = naiveHalf(bytes[start], bytes[start + 1])
                let fifth = Int(bytes[start + 2 + j / 8] >> (j % 8)) & 1
                let q = nibble(bytes[start + 6 + j % 16], high: j >= 16) + 16 * fifth
                out[i] = d * Float(q - 16)
            case .q5_1:
                let start = 24 * block
                let d = naiveHalf(bytes[start], bytes[start + 1])
                let m = naiveHalf(bytes[start + 2], bytes[start + 3])
                let fifth = Int(bytes[start + 4 + j / 8] >> (j % 8)) & 1
                let q = nibble(bytes[start + 8 + j % 16], high: j >= 16) + 16 * fifth
                let product = d * Float(q)
                out[i] = product + m
            case .q4_k, .q5_k:
                out[i] = naiveQ45K(type == .q5_k, bytes, i)
            case .q6_k:
                out[i] = naiveQ6K(bytes, i)
            default:
                return nil
            }
        }
        return out
    }

    /// Element `i` of a Q4_K or Q5_K tensor, from ggml's `block_q4_K`/`block_q5_K` description.
    private static func naiveQ45K(_ five: Bool, _ bytes: [UInt8], _ i: Int) -> Float {
        let start = (five ? 176 : 144) * (i / 256)
        let e = i % 256
        let sub = e / 32, l = e % 32
        let d = naiveHalf(bytes[start], bytes[start + 1])
        let dmin = naiveHalf(bytes[start + 2], bytes[start + 3])
        let s = Array(bytes[start + 4..<start + 16])
        let scale: Int, minimum: Int
        if sub < 4 {
            scale = Int(s[sub]) % 64
            minimum = Int(s[sub + 4]) % 64
        } else {
            scale = Int(s[sub + 4]) % 16 + 16 * (Int(s[sub - 4]) / 64)
            minimum = Int(s[sub + 4]) / 16 + 16 * (Int(s[sub]) / 64)
        }
        let qsStart = start + (five ? 48 : 16)
        var q = nibble(bytes[qsStart + 32 * (sub / 2) + l], high: sub % 2 == 1)
        if five { q += 16 * ((Int(bytes[start + 16 + l]) >> sub) & 1) }
        let subScale = d * Float(scale)
        let subMin = dmin * Float(minimum)
        let product = subScale * Float(q)
        return product - subMin
    }

    /// Element `i` of a Q6_K tensor, from ggml's `block_q6_K` and `dequantize_row_q6_K`.
    private static func naiveQ6K(_ bytes: [UInt8], _ i: Int) -> Float {
        let start = 210 * (i / 256)
        let e = i % 256
        let half = e / 128, k = (e % 128) / 32, l = e % 32
        let low = nibble(bytes[start + 64 * half + 32 * (k % 2) + l], high: k >= 2)
        let high = (Int(bytes[start + 128 + 32 * half + l]) >> (2 * k)) & 3
        let d = naiveHalf(bytes[start + 208], bytes[start + 209])
        let scale = d * Float(Int8(bitPattern: bytes[start + 192 + e / 16]))
        return scale * Float(low + 16 * high - 32)
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
