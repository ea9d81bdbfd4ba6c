/// Why a block of bytes could not be decoded. `GGUFFile` turns these into `CheckpointError`s that
/// name the file and the tensor.
public enum DequantizationError: Error, Equatable, CustomStringConvertible {
    case unsupportedType(GGMLType)
    /// `count` is not a whole number of the type's blocks.
    case partialBlock(count: Int, blockSize: Int)
    case byteCountMismatch(expected: Int, found: Int)

    public var description: String {
        switch self {
        case .unsupportedType(let type): "cannot dequantise type \(type)"
        case .partialBlock(let count, let blockSize):
            "\(count) elements are not a whole number of \(blockSize)-element blocks"
        case .byteCountMismatch(let expected, let found):
            "expected \(expected) bytes, found \(found)"
        }
    }
}

/// Decodes `count` elements of `type` from `bytes` into a new row-major `[Float]`.
///
/// Supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K (see
/// `GGMLType.canDequantize`). `bytes` must hold exactly the tensor (`type.byteCount(elements: count)` bytes); it need not be aligned.
/// Results are bit-identical to the Python `gguf` package's `gguf.quants.dequantize`.
public func dequantize(
    type: GGMLType, bytes: UnsafeRawBufferPointer, count: Int
) throws(DequantizationError) -> [Float] {
    try checkDequantizable(type: type, byteCount: bytes.count, count: count)
    return [Float](unsafeUninitializedCapacity: count) { out, initialised in
        Dequantizer.decode(type, from: bytes, into: out)
        initialised = count
    }
}

/// Decodes `out.count` elements of `type` from `bytes` into `out`, e.g. a slice of a larger
/// parameter buffer. Same rules as `dequantize(type:bytes:count:)`.
public func dequantize(
    type: GGMLType, bytes: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Float>
) throws(DequantizationError) {
    try checkDequantizable(type: type, byteCount: bytes.count, count: out.count)
    Dequantizer.decode(type, from: bytes, into: out)
}

func checkDequantizable(
    type: GGMLType, byteCount: Int, count: Int
) throws(DequantizationError) {
    guard type.canDequantize, let blockSize = type.blockSize else {
        throw .unsupportedType(type)
    }
    guard let expected = type.byteCount(elements: count) else {
        throw .partialBlock(count: count, blockSize: blockSize)
    }
    guard byteCount == expected else {
        throw .byteCountMismatch(expected: expected, found: byteCount)
    }
}

/// The fast kernels: one pass over raw pointers, no bounds checks (the callers above have checked
/// the sizes). The fixed-length inner loops are written as scalar code on purpose: LLVM turns
/// them into 8-wide AVX2 (`vpmovsxbd`/`vpmovzxbd`, `vcvtdq2ps`, `vmulps`), about 0.2–0.3 ns per
/// element in cache, whereas the generic `SIMD` integer→float conversions are many times
/// slower. `Dequantizer+Naive.swift` holds the scalar twin the tests compare against bit for bit.
///
/// To match numpy bit for bit every element is one float32 multiply `d·q` (plus one separate add
/// `+ m` for Q4_1); Swift never fuses them into an FMA.
enum Dequantizer {
    typealias Source = UnsafeRawPointer
    typealias Target = UnsafeMutablePointer<Float>

    static func decode(
        _ type: GGMLType, from bytes: UnsafeRawBufferPointer,
        into out: UnsafeMutableBufferPointer<Float>
    ) {
        guard let source = bytes.baseAddress, let destination = out.baseAddress else { return }
        let count = out.count
        switch type {
        case .f32:
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: 4 * count)
        case .f16: decodeF16(source, destination, count)
        case .bf16: decodeBF16(source, destination, count)
        case .q8_0: decodeQ8_0(source, destination, count / 32)
        case .q4_0: decodeQ4_0(source, destination, count / 32)
        case .q4_1: decodeQ4_1(source, destination, count / 32)
        case .q5_0: decodeQ5_0(source, destination, count / 32)
        case .q5_1: decodeQ5_1(source, destination, count / 32)
        case .q4_k: decodeQ4_K(source, destination, count / 256)
        case .q5_k: decodeQ5_K(source, destination, count / 256)
        case .q6_k: decodeQ6_K(source, destination, count / 256)
        default: preconditionFailure("checkDequantizable admits only the types handled above")
        }
    }

    /// IEEE half → single: exact; the F16C instruction `vcvtph2ps` with `-target-cpu haswell`.
    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ byteOffset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: byteOffset, as: UInt16.self)))
    }

    static func decodeF16(_ src: Source, _ dst: Target, _ n: Int) {
        for i in 0..<n { dst[i] = half(src, 2 * i) }
    }

    /// bfloat16 is the top half of a float32: shift the bits into place.
    static func decodeBF16(_ src: Source, _ dst: Target, _ n: Int) {
        for i in 0..<n {
            let bits = src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
            dst[i] = Float(bitPattern: UInt32(bits) << 16)
        }
    }

    /// Q8_0 block (34 bytes): `f16 d; int8 qs[32]`; element j = d·qs[j].
    static func decodeQ8_0(_ src: Source, _ dst: Target, _ blocks: Int) {
        for b in 0..<blocks {
            let block = src + 34 * b
            let d = half(block, 0)
            let o = dst + 32 * b
            for j in 0..<32 { o[j] = d * Float(block.load(fromByteOffset: 2 + j, as: Int8.self)) }
        }
    }

    /// Q4_0 block (18 bytes): `f16 d; uint8 qs[16]`; element j (0…15) = d·((qs[j] & 0xF) − 8),
    /// element j + 16 = d·((qs[j] >> 4) − 8).
    static func decodeQ4_0(_ src: Source, _ dst: Target, _ blocks: Int) {
        for b in 0..<blocks {
            let block = src + 18 * b
            let d = half(block, 0)
            let o = dst + 32 * b
            for j in 0..<16 {
                let q = block.load(fromByteOffset: 2 + j, as: UInt8.self)
                o[j] = d * Float(Int32(q & 0x0F) - 8)
                o[j + 16] = d * Float(Int32(q >> 4) - 8)
            }
        }
    }

    /// Q4_1 block (20 bytes): `f16 d; f16 m; uint8 qs[16]`;
    /// element j (0…15) = d·(qs[j] & 0xF) + m, element j + 16 = d·(qs[j] >> 4) + m.
    static func decodeQ4_1(_ src: Source, _ dst: Target, _ blocks: Int) {
        for b in 0..<blocks {
            let block = src + 20 * b
            let d = half(block, 0)
            let m = half(block, 2)
            let o = dst + 32 * b
            for j in 0..<16 {
                let q = block.load(fromByteOffset: 4 + j, as: UInt8.self)
                o[j] = d * Float(q & 0x0F) + m
                o[j + 16] = d * Float(q >> 4) + m
            }
        }
    }
}
