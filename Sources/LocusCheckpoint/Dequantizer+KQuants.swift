/// The k-quants: 256-element super-blocks with 6-bit (Q4_K, Q5_K) or 8-bit (Q6_K) sub-block
/// scales. Layouts from ggml's `block_q4_K`, `block_q5_K`, `block_q6_K` (ggml-common.h); the
/// arithmetic follows gguf-py's `Q4_K/Q5_K/Q6_K.dequantize_blocks` (gguf/quants.py), which
/// rounds like llama.cpp's `dequantize_row_q4_K` etc.: the sub-block scale `d·sc` and offset
/// `dmin·m` are float32 products first, then each element is `(d·sc)·q − (dmin·m)` (two
/// roundings, never fused).
extension Dequantizer {
    /// Sub-block `j` (0…7) scale and min of a Q4_K/Q5_K super-block, unpacked from the 12 bytes at
    /// `scales`: for j < 4, sc = s[j] & 63 and m = s[j+4] & 63; for j ≥ 4 the low four bits come
    /// from s[j+4] (sc: low nibble, m: high nibble) and the top two from bits 6–7 of s[j−4]
    /// (sc) and s[j] (m).
    @inline(__always)
    static func scaleAndMin(_ scales: UnsafeRawPointer, _ j: Int) -> (scale: UInt8, min: UInt8) {
        func s(_ i: Int) -> UInt8 { scales.load(fromByteOffset: i, as: UInt8.self) }
        if j < 4 { return (s(j) & 63, s(j + 4) & 63) }
        return ((s(j + 4) & 0x0F) | ((s(j - 4) >> 6) << 4), (s(j + 4) >> 4) | ((s(j) >> 6) << 4))
    }

    /// Q4_K super-block (144 bytes): `f16 d; f16 dmin; u8 scales[12]; u8 qs[128]`. Sub-blocks
    /// 2i and 2i+1 (32 elements each) take the low and high nibbles of qs[32i ..< 32i+32].
    static func decodeQ4_K(_ src: Source, _ dst: Target, _ blocks: Int) {
        for b in 0..<blocks {
            let block = src + 144 * b
            let d = half(block, 0)
            let dmin = half(block, 2)
            let qs = block + 16
            let o = dst + 256 * b
            for pair in 0..<4 {
                let (sc0, m0) = scaleAndMin(block + 4, 2 * pair)
                let (sc1, m1) = scaleAndMin(block + 4, 2 * pair + 1)
                let d0 = d * Float(sc0), min0 = dmin * Float(m0)
                let d1 = d * Float(sc1), min1 = dmin * Float(m1)
                for l in 0..<32 {
                    let q = qs.load(fromByteOffset: 32 * pair + l, as: UInt8.self)
                    o[64 * pair + l] = d0 * Float(q & 0x0F) - min0
                    o[64 * pair + 32 + l] = d1 * Float(q >> 4) - min1
                }
            }
        }
    }

    /// Q5_K super-block (176 bytes): `f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]`.
    /// As Q4_K, plus bit k of qh[l] as the fifth bit of element l of sub-block k.
    static func decodeQ5_K(_ src: Source, _ dst: Target, _ blocks: Int) {
        for b in 0..<blocks {
            let block = src + 176 * b
            let d = half(block, 0)
            let dmin = half(block, 2)
            let qh = block + 16
            let qs = block + 48
            let o = dst + 256 * b
            for pair in 0..<4 {
                let (sc0, m0) = scaleAndMin(block + 4, 2 * pair)
                let (sc1, m1) = scaleAndMin(block + 4, 2 * pair + 1)
                let d0 = d * Float(sc0), min0 = dmin * Float(m0)
                let d1 = d * Float(sc1), min1 = dmin * Float(m1)
                for l in 0..<32 {
                    let q = qs.load(fromByteOffset: 32 * pair + l, as: UInt8.self)
                    let h = qh.load(fromByteOffset: l, as: UInt8.self)
                    let q0 = (q & 0x0F) | ((h >> UInt8(2 * pair)) & 1) << 4
                    let q1 = (q >> 4) | ((h >> UInt8(2 * pair + 1)) & 1) << 4
                    o[64 * pair + l] = d0 * Float(q0) - min0
                    o[64 * pair + 32 + l] = d1 * Float(q1) - min1
                }
            }
        }
    }

    /// Q6_K super-block (210 bytes): `u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d`. Two halves
    /// of 128 elements; in half h, element 32k + l (k = 0…3, l = 0…31) has low bits
    /// ql[64h + 32(k & 1) + l] >> 4(k >> 1) & 0xF, high bits qh[32h + l] >> 2k & 3, value
    /// (d·scales[e / 16])·(q − 32) for the super-block element e.
    static func decodeQ6_K(_ src: Source, _ dst: Target, _ blocks: Int) {
        for b in 0..<blocks {
            let block = src + 210 * b
            let d = half(block, 208)
            let o = dst + 256 * b
            for h in 0..<2 {
                let ql = block + 64 * h
                let qh = block + 128 + 32 * h
                for k in 0..<4 {
                    let lowShift = UInt8(4 * (k >> 1))
                    let highShift = UInt8(2 * k)
                    let base = 128 * h + 32 * k
                    let scaleLow = d * Float(block.load(fromByteOffset: 192 + base / 16, as: Int8.self))
                    let scaleHigh = d * Float(
                        block.load(fromByteOffset: 192 + base / 16 + 1, as: Int8.self))
                    for l in 0..<32 {
                        let low = (ql.load(fromByteOffset: 32 * (k & 1) + l, as: UInt8.self)
                            >> lowShift) & 0x0F
                        let high = (qh.load(fromByteOffset: l, as: UInt8.self) >> highShift) & 3
                        let q = Int32(low | high << 4) - 32
                        o[base + l] = (l < 16 ? scaleLow : scaleHigh) * Float(q)
                    }
                }
            }
        }
    }
}
