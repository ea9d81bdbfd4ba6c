import Foundation

/// A safetensors checkpoint (Hugging Face's format), memory-mapped.
///
/// Opening decodes and checks the JSON header: every tensor's byte range must lie inside the file
/// and match its dtype and shape. F32, F16 and BF16 tensors can be read as `Float`; other dtypes
/// open fine but throw `.unsupportedTensorType` when read.
public final class SafetensorsFile: StoredTensorSource, Sendable {
    public let url: URL
    /// Every tensor, in the order of its data in the file.
    public let tensorInfos: [SafetensorsTensorInfo]
    /// The header's `__metadata__` (string → string), empty when absent.
    public let metadata: [String: String]

    private let data: Data
    private let mapped: Bool
    private let index: [String: Int]

    /// Maps and parses the file at `url`.
    /// - Throws: `CheckpointError` naming the file: `.cannotOpen`, `.truncated` or `.malformed`.
    public convenience init(url: URL) throws(CheckpointError) {
        try self.init(url: url, data: MappedFile.map(url), mapped: true)
    }

    /// `mapped`: `data` comes from `MappedFile.map`, so `releasePages(of:)` may drop its pages.
    init(url: URL, data: Data, mapped: Bool = false) throws(CheckpointError) {
        let file = url.path
        let parsed = data.withUnsafeBytes { bytes in
            Result { () throws(CheckpointError) in
                try SafetensorsParser(bytes: bytes, file: file).parse()
            }
        }
        let header = try parsed.get()
        self.url = url
        self.data = data
        self.mapped = mapped
        tensorInfos = header.tensors
        metadata = header.metadata
        index = Dictionary(
            header.tensors.enumerated().map { ($1.name, $0) },
            uniquingKeysWith: { first, _ in first })
    }

    public var tensorNames: [String] { tensorInfos.map(\.name) }

    public func tensorInfo(named name: String) -> SafetensorsTensorInfo? {
        index[name].map { tensorInfos[$0] }
    }

    public func shape(of name: String) -> [Int]? { tensorInfo(named: name)?.shape }

    /// The tensor as `Float`, row-major. F16 and BF16 are widened exactly.
    /// - Throws: `.missingTensor`, `.unsupportedTensorType` (naming the dtype) or `.truncated`.
    public func floats(named name: String) throws(CheckpointError) -> [Float] {
        let count = try decodable(name).info.elementCount
        return try makeFloats(count: count) { (buffer) throws(CheckpointError) in
            try floats(named: name, into: buffer)
        }
    }

    /// Writes the tensor into `buffer`, which must hold exactly its element count
    /// (`.shapeMismatch` otherwise); throws like `floats(named:)`.
    public func floats(
        named name: String, into buffer: UnsafeMutableBufferPointer<Float>
    ) throws(CheckpointError) {
        let (info, type) = try decodable(name)
        guard buffer.count == info.elementCount else {
            throw error(.shapeMismatch(tensor: name, expected: [buffer.count], found: info.shape))
        }
        let range = info.offset..<info.offset + info.byteCount
        let failure = data.withUnsafeBytes { bytes -> DequantizationError? in
            do throws(DequantizationError) {
                try dequantize(
                    type: type, bytes: UnsafeRawBufferPointer(rebasing: bytes[range]), into: buffer)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw error(.malformed("tensor '\(name)': \(failure)")) }
    }

    /// Drops the tensor's pages from the resident set (`MappedFile.release`) when the file is
    /// mapped; see `TensorSource.releasePages(of:)`.
    public func releasePages(of name: String) {
        guard mapped, let info = tensorInfo(named: name) else { return }
        MappedFile.release(data, range: info.offset..<info.offset + info.byteCount)
    }

    /// The tensor's dtype (F32, F16 or BF16) and bytes, a slice of the mapping (not a copy).
    /// - Throws: like `floats(named:)`.
    public func storedTensor(named name: String) throws(CheckpointError) -> (type: GGMLType, bytes: Data) {
        let (info, type) = try decodable(name)
        let start = data.startIndex + info.offset
        return (type, data[start..<start + info.byteCount])
    }

    /// A tensor that exists, lies in the file and has a dtype this reader decodes.
    private func decodable(
        _ name: String
    ) throws(CheckpointError) -> (info: SafetensorsTensorInfo, type: GGMLType) {
        guard let info = tensorInfo(named: name) else { throw error(.missingTensor(name)) }
        guard let type = info.elementType else {
            throw error(.unsupportedTensorType(tensor: name, type: info.dtype))
        }
        guard info.offset <= data.count, info.byteCount <= data.count - info.offset else {
            throw error(.truncated("tensor '\(name)' runs past the end of the file"))
        }
        return (info, type)
    }

    private func error(_ problem: CheckpointError.Problem) -> CheckpointError {
        CheckpointError(file: url.path, problem: problem)
    }
}
