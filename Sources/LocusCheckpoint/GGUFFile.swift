import Foundation

/// A GGUF checkpoint (llama.cpp's format, versions 2 and 3), memory-mapped.
///
/// Opening reads and checks the whole header: metadata, tensor infos, and that every tensor of a
/// known type lies inside the file. Tensor data is decoded only when asked for, by
/// `floats(named:)`. A tensor of a type this reader cannot decode (Q2_K, Q3_K, an IQ type, or an
/// id it does not know) does not stop the file from opening; reading that tensor throws
/// `.unsupportedTensorType`.
///
///     let file = try GGUFFile(url: url)
///     file.string("general.architecture")        // "llama"
///     let embedding = try file.floats(named: "token_embd.weight")  // (V, C) row-major
public final class GGUFFile: TensorSource, Sendable {
    public let url: URL
    /// 2 or 3 (they differ only in that version 3 may be big-endian, which this reader refuses).
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Every tensor, in file order.
    public let tensorInfos: [GGUFTensorInfo]
    /// Data-section alignment: `general.alignment`, 32 when absent.
    public let alignment: Int
    /// Offset of the data section from the start of the file.
    public let dataOffset: Int

    private let data: Data
    private let mapped: Bool
    private let index: [String: Int]

    /// Maps and parses the file at `url`.
    /// - Throws: `CheckpointError` naming the file: `.cannotOpen`, `.badMagic`,
    ///   `.unsupportedVersion`, `.truncated` or `.malformed`.
    public convenience init(url: URL) throws(CheckpointError) {
        try self.init(url: url, data: MappedFile.map(url), mapped: true)
    }

    /// `mapped`: `data` comes from `MappedFile.map`, so `releasePages(of:)` may drop its pages.
    init(url: URL, data: Data, mapped: Bool = false) throws(CheckpointError) {
        let file = url.path
        let parsed = data.withUnsafeBytes { bytes in
            Result { () throws(CheckpointError) -> GGUFLayout in
                var parser = GGUFParser(bytes: bytes, file: file)
                return try parser.parse()
            }
        }
        let layout = try parsed.get()
        var index: [String: Int] = [:]
        for (position, info) in layout.tensorInfos.enumerated() {
            guard index.updateValue(position, forKey: info.name) == nil else {
                throw CheckpointError(file: file, problem: .malformed(
                    "tensor name '\(info.name)' appears twice"))
            }
        }
        self.url = url
        self.data = data
        self.mapped = mapped
        self.index = index
        version = layout.version
        metadata = layout.metadata
        metadataKeys = layout.metadataKeys
        tensorInfos = layout.tensorInfos
        alignment = layout.alignment
        dataOffset = layout.dataOffset
    }

    /// The file's size in bytes.
    public var fileSize: Int { data.count }

    // MARK: TensorSource

    public var tensorNames: [String] { tensorInfos.map(\.name) }

    public func tensorInfo(named name: String) -> GGUFTensorInfo? {
        index[name].map { tensorInfos[$0] }
    }

    public func shape(of name: String) -> [Int]? { tensorInfo(named: name)?.shape }

    /// The tensor dequantised to `Float`, row-major, shape `shape(of: name)`.
    /// - Throws: `.missingTensor`, `.unsupportedTensorType` (naming the tensor and its ggml type)
    ///   or `.truncated`.
    public func floats(named name: String) throws(CheckpointError) -> [Float] {
        let count = try decodable(name).info.elementCount
        return try makeFloats(count: count) { (buffer) throws(CheckpointError) in
            try floats(named: name, into: buffer)
        }
    }

    /// Dequantises the tensor into `buffer`, which must hold exactly its element count
    /// (`.shapeMismatch` otherwise); throws like `floats(named:)`.
    public func floats(
        named name: String, into buffer: UnsafeMutableBufferPointer<Float>
    ) throws(CheckpointError) {
        let (info, range) = try decodable(name)
        guard buffer.count == info.elementCount else {
            throw error(.shapeMismatch(tensor: name, expected: [buffer.count], found: info.shape))
        }
        let failure = data.withUnsafeBytes { bytes -> DequantizationError? in
            do throws(DequantizationError) {
                try dequantize(
                    type: info.type, bytes: UnsafeRawBufferPointer(rebasing: bytes[range]),
                    into: buffer)
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
        guard mapped, let range = try? location(of: name).range else { return }
        MappedFile.release(data, range: range)
    }

    /// Info and byte range of a tensor that exists, lies in the file and can be dequantised.
    private func decodable(
        _ name: String
    ) throws(CheckpointError) -> (info: GGUFTensorInfo, range: Range<Int>) {
        let location = try location(of: name)
        guard location.info.type.canDequantize else {
            throw error(.unsupportedTensorType(tensor: name, type: location.info.type.name))
        }
        return location
    }

    /// The tensor's stored bytes (a slice of the mapping, not a copy), e.g. for quantised
    /// kernels. Throws like `floats(named:)`, except that any type with a known size is accepted.
    public func rawData(named name: String) throws(CheckpointError) -> Data {
        let range = try location(of: name).range
        return data[data.startIndex + range.lowerBound..<data.startIndex + range.upperBound]
    }

    /// The tensor's info and byte range (from the start of the file), checked against the file.
    private func location(
        of name: String
    ) throws(CheckpointError) -> (info: GGUFTensorInfo, range: Range<Int>) {
        guard let info = tensorInfo(named: name) else { throw error(.missingTensor(name)) }
        guard let byteCount = info.byteCount else {
            throw error(.unsupportedTensorType(tensor: name, type: info.type.name))
        }
        guard info.offset <= data.count, byteCount <= data.count - info.offset else {
            throw error(.truncated("tensor '\(name)' runs past the end of the file"))
        }
        return (info, info.offset..<info.offset + byteCount)
    }

    func error(_ problem: CheckpointError.Problem) -> CheckpointError {
        CheckpointError(file: url.path, problem: problem)
    }
}
