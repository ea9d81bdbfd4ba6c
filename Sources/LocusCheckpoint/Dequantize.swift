import CLocusKernels

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
/// Results are bit-identical to the Python `gguf` package's `gguf.quants.dequantize`, on every
/// `path` (the kernels are C, `CLocusKernels/dequant_body.h`; `path` is for tests).
public func dequantize(
    type: GGMLType, bytes: UnsafeRawBufferPointer, count: Int, path: KernelPath = .automatic
) throws(DequantizationError) -> [Float] {
    try checkDequantizable(type: type, byteCount: bytes.count, count: count)
    return [Float](unsafeUninitializedCapacity: count) { out, initialised in
        Dequantizer.decode(type, from: bytes, into: out, path: path)
        initialised = count
    }
}

/// Decodes `out.count` elements of `type` from `bytes` into `out`, e.g. a slice of a larger
/// parameter buffer. Same rules as `dequantize(type:bytes:count:path:)`.
public func dequantize(
    type: GGMLType, bytes: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Float>,
    path: KernelPath = .automatic
) throws(DequantizationError) {
    try checkDequantizable(type: type, byteCount: bytes.count, count: out.count)
    Dequantizer.decode(type, from: bytes, into: out, path: path)
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

/// The fast kernels are C (`CLocusKernels`: `dequant_body.h` compiled once portable and once
/// with function-level AVX2 + FMA + F16C, chosen at run time), so that no Swift target needs
/// `-target-cpu`. Floating-point contraction is off there: every element is one float32 multiply
/// `d·q` plus at most one separate add, as numpy computes it. `Dequantizer+Naive.swift` holds the
/// Swift twin the tests compare both C paths against bit for bit.
enum Dequantizer {
    static func decode(
        _ type: GGMLType, from bytes: UnsafeRawBufferPointer,
        into out: UnsafeMutableBufferPointer<Float>, path: KernelPath
    ) {
        guard let source = bytes.baseAddress, let destination = out.baseAddress else { return }
        let status = locus_dequantize(Int32(type.id), source, Int64(out.count), destination, path.rawValue)
        precondition(status == 0, "checkDequantizable admits only the types CLocusKernels decodes")
    }
}
