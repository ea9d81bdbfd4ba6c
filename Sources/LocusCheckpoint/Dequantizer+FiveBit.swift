/// Five-bit 32-element blocks. Layouts from ggml's `block_q5_0` / `block_q5_1`; the arithmetic
/// follows gguf-py's `Q5_0.dequantize_blocks` / `Q5_1.dequantize_blocks` (quants.py) so that
/// every element is the same float32 operations in the same order.
extension Dequantizer {
    /// The fifth bits of a block: bit j of the little-endian `UInt32` `qh` belongs to element j.
    @inline(__always)
    static func highBits(_ block: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        block.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
    }

    /// Q5_0 block (22 bytes): `f16 d; u8 qh[4]; u8 qs[16]`; element j (0…15) =
    /// d·((qs[j] & 0xF | bit j of qh << 4) − 16), element j + 16 = d·((qs[j] >> 4 | bit j+16 << 4) − 16).
    static func decodeQ5_0(_ src: Source, _ dst: Target, _ blocks: Int) {
        for b in 0..<blocks {
            let block = src + 22 * b
            let d = half(block, 0)
            let qh = highBits(block, 2)
            let o = dst + 32 * b
            for j in 0..<16 {
                let q = block.load(fromByteOffset: 6 + j, as: UInt8.self)
                let low = Int32(q & 0x0F) | Int32((qh >> UInt32(j)) & 1) << 4
                let high = Int32(q >> 4) | Int32((qh >> UInt32(j + 16)) & 1) << 4
                o[j] = d * Float(low - 16)
                o[j + 16] = d * Float(high - 16)
            }
        }
    }

    /// Q5_1 block (24 bytes): `f16 d; f16 m; u8 qh[4]; u8 qs[16]`; element = d·q + m with the
    /// unsigned 5-bit q assembled as in Q5_0.
    static func decodeQ5_1(_ src: Source, _ dst: Target, _ blocks: Int) {
        for b in 0..<blocks {
            let block = src + 24 * b
            let d = half(block, 0)
            let m = half(block, 2)
            let qh = highBits(block, 4)
            let o = dst + 32 * b
            for j in 0..<16 {
                let q = block.load(fromByteOffset: 8 + j, as: UInt8.self)
                let low = UInt32(q & 0x0F) | ((qh >> UInt32(j)) & 1) << 4
                let high = UInt32(q >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4
                o[j] = d * Float(low) + m
                o[j + 16] = d * Float(high) + m
            }
        }
    }
}
