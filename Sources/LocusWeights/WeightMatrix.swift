import CLocusKernels
import Foundation
import LocusCheckpoint
import LocusTensor

/// A linear layer's weight, (rows, columns) = (out, in), kept in the type it was stored in.
///
/// `.dense` holds fp32 values (the parity reference, and what an edit writes); `.quantized`
/// holds a ggml block type's bytes, usually a slice of the memory-mapped checkpoint, so a
/// quantised model costs its file size in page cache instead of 4 bytes per parameter.
///
/// Products (x is (n, columns) row-major, y is (n, rows)):
/// - `multiply`: y = x·Wᵀ. One row (decoding) runs a C kernel directly on the blocks
///   (`Sources/CLocusKernels`) after quantising x to 8 bits per 32 elements, as llama.cpp does;
///   several rows dequantise W a panel of rows at a time into fp32 and call sgemm, so prefill
///   stays at BLAS speed and exact — unless `activationQuantization` is `.all`, when they run
///   the int8 GEMM of `Sources/CLocusKernels/gemm_q8_body.h` (faster on large quantised models,
///   decode tolerance). F16/BF16 W with up to 8 rows of x run `locus_matvec16` instead: each
///   weight widened exactly in registers times the fp32 activation (no activation rounding;
///   `WeightMatrix+SixteenBit.swift`).
/// - `multiplyTransposed`: dx = dy·W (the backward toward the input), panel by panel.
/// - `materializeFloat32()`: the whole matrix as fp32, for an edit that must change it.
///
/// Decode tolerance (8-bit activations): for each 32-element block b of x with scale
/// s_b = max|x_b|/127, |x̂_j − x_j| ≤ s_b/2, so |ŷ_r − y_r| ≤ Σ_b (s_b/2)·Σ_{j∈b} |W_rj| (plus
/// float rounding); `WeightMatrixTests` checks exactly this bound. On the real SmolLM2 Q4_1 and
/// Gemma-3-270M Q4_K_M models this moves decode logits by well under 1 (KL from the fp32 path
/// < 0.01, greedy tokens unchanged; `StoredWeightsTests`, `Gemma3RealModelTests`). Users who need
/// parity with `--weights f32` set `WeightMatrix.activationQuantization = .none` (or the
/// environment variable `LOCUS_ACTIVATION_QUANTIZATION=none`): decode then dequantises W panel
/// by panel and multiplies the fp32 activation, like prefill.
public final class WeightMatrix: @unchecked Sendable {
    /// Which products of quantised matrices run the int8 kernels (x quantised to 8 bits per 32
    /// elements) instead of fp32 panels; process-wide. Initially `LOCUS_ACTIVATION_QUANTIZATION`
    /// from the environment (`decode`, `none` or `all`), else `.decode`. Set it between forward
    /// passes, not during one.
    nonisolated(unsafe) public static var activationQuantization: ActivationQuantization =
        ActivationQuantization.fromEnvironment()

    public enum Storage {
        case dense(FloatBuffer)
        /// `bytes` holds `rows` rows of `type` blocks, row r at `r · rowBytes`.
        case quantized(type: GGMLType, bytes: Data)
        /// Matrices with the same column count stacked row-wise (e.g. Q, K and V of a fused
        /// projection, which a Q4_K_M file stores in different types).
        case stacked([WeightMatrix])
    }

    public let rows: Int
    public let columns: Int
    /// Changes only through `makeDense()` (not thread-safe: edits run between forward passes).
    public private(set) var storage: Storage

    /// The row-wise concatenation of `parts` (all with the same column count).
    public init(stacking parts: [WeightMatrix]) {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.columns == parts[0].columns },
                     "stacked matrices need one column count")
        rows = parts.reduce(0) { $0 + $1.rows }
        columns = parts[0].columns
        storage = parts.count == 1 ? parts[0].storage : .stacked(parts)
    }

    /// The matrix as one dense fp32 buffer, converting it in place the first time (the stored
    /// bytes are then released): what an edit of this one matrix (ROME, FT-L) writes into.
    /// Later products use the dense path (sgemv/sgemm on fp32).
    @discardableResult
    public func makeDense() -> FloatBuffer {
        if case .dense(let buffer) = storage { return buffer }
        let buffer = materializeFloat32()
        storage = .dense(buffer)
        return buffer
    }

    /// A dense fp32 matrix (values row-major, `rows · columns` of them).
    public init(rows: Int, columns: Int, values: FloatBuffer) {
        precondition(values.count >= rows * columns, "buffer smaller than (\(rows), \(columns))")
        self.rows = rows
        self.columns = columns
        storage = .dense(values)
    }

    /// A matrix in ggml type `type`; throws when the bytes do not hold exactly (rows, columns)
    /// of it or the type cannot be decoded.
    public init(rows: Int, columns: Int, type: GGMLType, bytes: Data) throws {
        guard type.canDequantize else { throw WeightMatrixError.unsupportedType(type) }
        guard let rowBytes = type.byteCount(elements: columns) else {
            throw WeightMatrixError.partialBlock(type: type, columns: columns)
        }
        guard bytes.count == rowBytes * rows else {
            throw WeightMatrixError.byteCountMismatch(expected: rowBytes * rows, found: bytes.count)
        }
        self.rows = rows
        self.columns = columns
        storage = type == .f32 ? .dense(FloatBuffer(Self.floats(bytes))) : .quantized(type: type, bytes: bytes)
    }

    private static func floats(_ bytes: Data) -> [Float] {
        bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// The stored element type (`.f32` for dense; the first part's for a stack).
    public var type: GGMLType {
        switch storage {
        case .dense: .f32
        case .quantized(let type, _): type
        case .stacked(let parts): parts[0].type
        }
    }

    /// Every stored type, in row order (one for an unstacked matrix).
    public var storedTypes: [GGMLType] {
        if case .stacked(let parts) = storage { return parts.flatMap(\.storedTypes) }
        return [type]
    }

    /// Bytes of one stored row (of an unstacked matrix).
    public var rowBytes: Int { type.byteCount(elements: columns)! }

    /// Bytes the weight occupies in memory.
    public var residentBytes: Int {
        if case .stacked(let parts) = storage { return parts.reduce(0) { $0 + $1.residentBytes } }
        return rowBytes * rows
    }

    /// The first block (element, for plain types) whose stored value or f16 scale is infinite
    /// or NaN, or nil. A quantised block's values are finite exactly when its scales are (d;
    /// d and m or dmin for the types with an offset), so this reads 2–4 bytes per block instead
    /// of dequantising the matrix.
    public func firstNonFiniteBlock() -> Int? {
        switch storage {
        case .dense(let w):
            return (0..<rows * columns).first { !w.pointer[$0].isFinite }
        case .stacked(let parts):
            var offset = 0
            for part in parts {
                if let bad = part.firstNonFiniteBlock() { return offset + bad }
                offset += part.residentBytes / part.type.bytesPerBlock!
            }
            return nil
        case .quantized(let type, let bytes):
            let halfOffsets: [Int]
            var exponentMask: UInt16 = 0x7C00  // f16: exponent all ones = inf or NaN
            switch type {
            case .q8_0, .q4_0, .q5_0: halfOffsets = [0]
            case .q4_1, .q5_1, .q4_k, .q5_k: halfOffsets = [0, 2]
            case .q6_k: halfOffsets = [208]
            case .f16: halfOffsets = [0]
            case .bf16:
                halfOffsets = [0]
                exponentMask = 0x7F80
            default: return nil
            }
            let stride = type.bytesPerBlock!
            return bytes.withUnsafeBytes { raw -> Int? in
                for block in 0..<raw.count / stride {
                    for offset in halfOffsets {
                        let bits = raw.loadUnaligned(fromByteOffset: block * stride + offset, as: UInt16.self)
                        if bits & exponentMask == exponentMask { return block }
                    }
                }
                return nil
            }
        }
    }

    /// Whether decoding uses the quantised kernel (otherwise dequantise-then-sgemv).
    var hasQuantizedKernel: Bool { locus_matvec_supports(Int32(type.id)) != 0 }
}

/// When a product of a quantised `WeightMatrix` quantises its activation to 8 bits.
public enum ActivationQuantization: String, Sendable, CaseIterable {
    /// One row of x (decoding a token) runs the int8 kernels; several rows (prefill, training
    /// forwards) and every backward run exact fp32 panels. The default: llama.cpp's speed on
    /// decode, and prefill logits and gradients that match `--weights f32` to float rounding.
    case decode
    /// Never: every product dequantises W panel by panel and multiplies the fp32 activation, so
    /// decode matches `--weights f32` to float rounding too (slower decode).
    case none
    /// Every forward product of a quantised matrix, prefill included, runs the int8 kernels
    /// (each row of x quantised on its own): Q8_0, Q4_0, Q4_1, Q5_0, Q4_K and Q6_K through the register-tiled int8
    /// GEMM (`locus_matmul`, Sources/CLocusKernels/gemm_q8_body.h), the other types through their
    /// row kernels. Faster prefill of large quantised models; prefill logits then carry the
    /// decode tolerance. The backward stays fp32.
    case all

    /// Whether a product with `rows` rows of x uses the int8 kernels.
    public func quantizes(rows: Int) -> Bool {
        switch self {
        case .decode: rows == 1
        case .none: false
        case .all: rows >= 1
        }
    }

    /// `LOCUS_ACTIVATION_QUANTIZATION` (decode, none, all), else `.decode`. An unknown value stops
    /// the process with a message naming the variable rather than silently picking a mode.
    public static func fromEnvironment() -> ActivationQuantization {
        guard let value = ProcessInfo.processInfo.environment["LOCUS_ACTIVATION_QUANTIZATION"],
            !value.isEmpty
        else { return .decode }
        guard let mode = ActivationQuantization(rawValue: value.lowercased()) else {
            fatalError(
                "LOCUS_ACTIVATION_QUANTIZATION=\(value): expected one of "
                    + allCases.map(\.rawValue).joined(separator: ", "))
        }
        return mode
    }
}

public enum WeightMatrixError: Error, Equatable, CustomStringConvertible {
    case unsupportedType(GGMLType)
    case partialBlock(type: GGMLType, columns: Int)
    case byteCountMismatch(expected: Int, found: Int)

    public var description: String {
        switch self {
        case .unsupportedType(let type): "weight type \(type) is not supported"
        case .partialBlock(let type, let columns):
            "a row of \(columns) elements is not a whole number of \(type) blocks"
        case .byteCountMismatch(let expected, let found):
            "weight holds \(found) bytes, expected \(expected)"
        }
    }
}
