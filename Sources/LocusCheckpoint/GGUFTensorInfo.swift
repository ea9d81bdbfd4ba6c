/// Where one tensor of a GGUF file lives and how it is stored.
///
/// GGUF records dimensions innermost first (`ne[0]` is the row length); `shape` reverses them into
/// row-major order, so a linear layer's weight `ne = [in, out]` has `shape == [out, in]`.
public struct GGUFTensorInfo: Hashable, Sendable {
    public let name: String
    /// Row-major shape, outermost first (the reverse of GGUF's `ne`).
    public let shape: [Int]
    public let type: GGMLType
    /// Offset of the tensor's first byte from the start of the file (the data section start plus
    /// the offset the tensor info records).
    public let offset: Int
    /// Bytes the tensor occupies, or `nil` when its type id is unknown.
    public let byteCount: Int?

    public init(name: String, shape: [Int], type: GGMLType, offset: Int, byteCount: Int?) {
        self.name = name
        self.shape = shape
        self.type = type
        self.offset = offset
        self.byteCount = byteCount
    }

    /// Product of the shape (1 for a tensor without dimensions).
    public var elementCount: Int { shape.reduce(1, *) }
}
