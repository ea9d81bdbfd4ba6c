/// A ggml tensor element type, as stored in a GGUF tensor info (a `UInt32` id).
///
/// Quantised types pack `blockSize` consecutive elements of a row into `bytesPerBlock` bytes;
/// plain types are blocks of one element. A row's element count (GGUF `ne[0]`) must be a
/// multiple of the block size. Ids that ggml never assigned, or has since retired (4, 5, 31–33),
/// become `.unknown(id)`: a file holding them still opens, but such tensors cannot be read.
///
/// Names follow ggml (`Q4_K`, `BF16`); the cases are their lowercase spellings.
public enum GGMLType: Hashable, Sendable, CustomStringConvertible {
    case f32, f16, q4_0, q4_1, q5_0, q5_1, q8_0, q8_1
    case q2_k, q3_k, q4_k, q5_k, q6_k, q8_k
    case iq2_xxs, iq2_xs, iq3_xxs, iq1_s, iq4_nl, iq3_s, iq2_s, iq4_xs
    case i8, i16, i32, i64, f64, iq1_m, bf16, tq1_0, tq2_0, mxfp4
    case unknown(UInt32)

    /// Every type with an assigned id, in id order.
    public static let known: [GGMLType] = [
        .f32, .f16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1,
        .q2_k, .q3_k, .q4_k, .q5_k, .q6_k, .q8_k,
        .iq2_xxs, .iq2_xs, .iq3_xxs, .iq1_s, .iq4_nl, .iq3_s, .iq2_s, .iq4_xs,
        .i8, .i16, .i32, .i64, .f64, .iq1_m, .bf16, .tq1_0, .tq2_0, .mxfp4,
    ]

    private static let byID: [UInt32: GGMLType] =
        Dictionary(uniqueKeysWithValues: known.map { ($0.id, $0) })

    /// The type with ggml id `id`, or `.unknown(id)`.
    public init(id: UInt32) {
        self = Self.byID[id] ?? .unknown(id)
    }

    /// The types `dequantize(type:bytes:count:)` can decode.
    public var canDequantize: Bool {
        switch self {
        case .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_k, .q5_k, .q6_k: true
        default: false
        }
    }

    /// The ggml id, as written in a GGUF tensor info.
    public var id: UInt32 { traits.id }

    /// The ggml name, e.g. `Q4_1`; `type 99` for an unknown id.
    public var name: String { traits.name }

    public var description: String { name }

    /// Elements per block (1 for plain types); `nil` for an unknown id.
    public var blockSize: Int? { traits.layout?.elements }

    /// Bytes per block; `nil` for an unknown id.
    public var bytesPerBlock: Int? { traits.layout?.bytes }

    /// Bytes that `count` elements occupy, or `nil` when the type is unknown or `count` is not a
    /// whole number of blocks.
    public func byteCount(elements count: Int) -> Int? {
        guard let layout = traits.layout, count >= 0, count % layout.elements == 0 else {
            return nil
        }
        let blocks = count / layout.elements
        let (total, overflow) = blocks.multipliedReportingOverflow(by: layout.bytes)
        return overflow ? nil : total
    }

    private static let qk = 256  // QK_K: elements per k-quant super-block

    /// Id, name and block layout (elements, bytes), from ggml's `ggml_type_traits`.
    private var traits: (id: UInt32, name: String, layout: (elements: Int, bytes: Int)?) {
        let qk = Self.qk
        switch self {
        case .f32: return (0, "F32", (1, 4))
        case .f16: return (1, "F16", (1, 2))
        case .q4_0: return (2, "Q4_0", (32, 2 + 16))
        case .q4_1: return (3, "Q4_1", (32, 2 + 2 + 16))
        case .q5_0: return (6, "Q5_0", (32, 2 + 4 + 16))
        case .q5_1: return (7, "Q5_1", (32, 2 + 2 + 4 + 16))
        case .q8_0: return (8, "Q8_0", (32, 2 + 32))
        case .q8_1: return (9, "Q8_1", (32, 4 + 4 + 32))
        case .q2_k: return (10, "Q2_K", (qk, 2 + 2 + qk / 16 + qk / 4))
        case .q3_k: return (11, "Q3_K", (qk, 2 + qk / 4 + qk / 8 + 12))
        case .q4_k: return (12, "Q4_K", (qk, 2 + 2 + qk / 2 + 12))
        case .q5_k: return (13, "Q5_K", (qk, 2 + 2 + qk / 2 + qk / 8 + 12))
        case .q6_k: return (14, "Q6_K", (qk, 2 + qk / 2 + qk / 4 + qk / 16))
        case .q8_k: return (15, "Q8_K", (qk, 4 + qk + qk / 8))
        case .iq2_xxs: return (16, "IQ2_XXS", (qk, 2 + qk / 4))
        case .iq2_xs: return (17, "IQ2_XS", (qk, 2 + qk / 4 + qk / 32))
        case .iq3_xxs: return (18, "IQ3_XXS", (qk, 2 + qk / 4 + qk / 8))
        case .iq1_s: return (19, "IQ1_S", (qk, 2 + qk / 8 + qk / 16))
        case .iq4_nl: return (20, "IQ4_NL", (32, 2 + 16))
        case .iq3_s: return (21, "IQ3_S", (qk, 2 + qk / 4 + qk / 8 + qk / 32 + 4))
        case .iq2_s: return (22, "IQ2_S", (qk, 2 + qk / 4 + qk / 16))
        case .iq4_xs: return (23, "IQ4_XS", (qk, 2 + 2 + qk / 2 + qk / 64))
        case .i8: return (24, "I8", (1, 1))
        case .i16: return (25, "I16", (1, 2))
        case .i32: return (26, "I32", (1, 4))
        case .i64: return (27, "I64", (1, 8))
        case .f64: return (28, "F64", (1, 8))
        case .iq1_m: return (29, "IQ1_M", (qk, qk / 8 + qk / 16 + qk / 32))
        case .bf16: return (30, "BF16", (1, 2))
        case .tq1_0: return (34, "TQ1_0", (qk, 2 + 4 * 13))
        case .tq2_0: return (35, "TQ2_0", (qk, 2 + 64))
        case .mxfp4: return (39, "MXFP4", (32, 1 + 16))
        case .unknown(let id): return (id, "type \(id)", nil)
        }
    }
}
