/// Everything a GGUF file says about itself, read from its header.
struct GGUFLayout {
    var version: UInt32
    var metadata: [String: GGUFValue]
    var metadataKeys: [String]
    var alignment: Int
    var dataOffset: Int
    var tensorInfos: [GGUFTensorInfo]
}

/// Reads a GGUF header (versions 2 and 3, little-endian):
///
///     magic "GGUF" · version u32 · tensor count u64 · metadata count u64
///     metadata × count:    key string · value type u32 · value
///     tensor info × count: name string · n_dims u32 · ne u64 × n_dims · type u32 · offset u64
///     padding to `general.alignment` (default 32) · tensor data
///
/// A string is a `u64` byte length and UTF-8 bytes; an array is an element type `u32`, a count
/// `u64` and the elements (arrays may nest). Version 1 used `u32` counts and lengths and is
/// refused. Tensor offsets are relative to the data section and multiples of the alignment.
struct GGUFParser {
    static let magic: UInt32 = 0x4655_4747  // "GGUF" read as a little-endian UInt32
    static let defaultAlignment = 32
    /// ggml tensors have at most four dimensions.
    static let maxDimensions = 4
    /// Arrays of arrays deeper than this are refused as malformed instead of recursing on.
    static let maxArrayDepth = 8

    private var reader: ByteReader

    init(bytes: UnsafeRawBufferPointer, file: String) {
        reader = ByteReader(bytes: bytes, file: file)
    }

    mutating func parse() throws(CheckpointError) -> GGUFLayout {
        let magic = try reader.read(UInt32.self, "magic")
        guard magic == Self.magic else {
            throw reader.error(.badMagic(found: Self.describeMagic(magic)))
        }
        let version = try reader.read(UInt32.self, "version")
        guard version == 2 || version == 3 else {
            throw reader.error(.unsupportedVersion(version))
        }
        let tensorCount = try reader.read(UInt64.self, "tensor count")
        let metadataCount = try reader.read(UInt64.self, "metadata count")

        // A key/value pair takes at least 13 bytes: key length, value type and one byte.
        try reader.require(items: metadataCount, ofAtLeast: 13, for: "metadata")
        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        keys.reserveCapacity(Int(metadataCount))
        for index in 0..<Int(metadataCount) {
            let key = try reader.readString("key of metadata entry \(index)")
            let type = try reader.read(UInt32.self, "value type of '\(key)'")
            let value = try readValue(type: type, key: key, depth: 0)
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw reader.error(.malformed("metadata key '\(key)' appears twice"))
            }
            keys.append(key)
        }

        let alignment = try Self.alignment(in: metadata, reader: reader)
        // A tensor info takes at least 24 bytes: name length, n_dims, type and offset.
        try reader.require(items: tensorCount, ofAtLeast: 24, for: "tensor infos")
        var relative: [(name: String, ne: [Int], type: GGMLType, offset: UInt64)] = []
        relative.reserveCapacity(Int(tensorCount))
        for index in 0..<Int(tensorCount) {
            relative.append(try readTensorInfo(index: index))
        }

        let headerEnd = reader.offset
        let dataOffset = (headerEnd + alignment - 1) / alignment * alignment
        var infos: [GGUFTensorInfo] = []
        infos.reserveCapacity(relative.count)
        for entry in relative {
            infos.append(try place(entry, dataOffset: dataOffset, alignment: alignment))
        }
        try Self.checkPacking(
            relative, alignment: alignment, dataBytes: reader.bytes.count - min(dataOffset, reader.bytes.count),
            reader: reader)
        return GGUFLayout(
            version: version, metadata: metadata, metadataKeys: keys, alignment: alignment,
            dataOffset: dataOffset, tensorInfos: infos)
    }

    // MARK: Metadata values

    /// Reads one value of GGUF value type `type` (0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32,
    /// 7 bool, 8 string, 9 array, 10 u64, 11 i64, 12 f64).
    private mutating func readValue(
        type: UInt32, key: String, depth: Int
    ) throws(CheckpointError) -> GGUFValue {
        switch type {
        case 0: return .uint8(try reader.read(UInt8.self, "value of '\(key)'"))
        case 1: return .int8(try reader.read(Int8.self, "value of '\(key)'"))
        case 2: return .uint16(try reader.read(UInt16.self, "value of '\(key)'"))
        case 3: return .int16(try reader.read(Int16.self, "value of '\(key)'"))
        case 4: return .uint32(try reader.read(UInt32.self, "value of '\(key)'"))
        case 5: return .int32(try reader.read(Int32.self, "value of '\(key)'"))
        case 6: return .float32(try reader.readFloat("value of '\(key)'"))
        case 7: return .bool(try reader.read(UInt8.self, "value of '\(key)'") != 0)
        case 8: return .string(try reader.readString("value of '\(key)'"))
        case 9: return try readArray(key: key, depth: depth)
        case 10: return .uint64(try reader.read(UInt64.self, "value of '\(key)'"))
        case 11: return .int64(try reader.read(Int64.self, "value of '\(key)'"))
        case 12: return .float64(try reader.readDouble("value of '\(key)'"))
        default:
            throw reader.error(.malformed("metadata '\(key)' has unknown value type \(type)"))
        }
    }

    private mutating func readArray(key: String, depth: Int) throws(CheckpointError) -> GGUFValue {
        guard depth < Self.maxArrayDepth else {
            throw reader.error(.malformed(
                "metadata '\(key)' nests arrays deeper than \(Self.maxArrayDepth)"))
        }
        let elementType = try reader.read(UInt32.self, "element type of '\(key)'")
        let count = try reader.read(UInt64.self, "element count of '\(key)'")
        guard let size = Self.minimumSize(ofValueType: elementType) else {
            throw reader.error(.malformed(
                "metadata '\(key)' is an array of unknown value type \(elementType)"))
        }
        try reader.require(items: count, ofAtLeast: size, for: "array '\(key)'")
        var elements: [GGUFValue] = []
        elements.reserveCapacity(Int(count))
        for _ in 0..<Int(count) {
            elements.append(try readValue(type: elementType, key: key, depth: depth + 1))
        }
        return .array(elements)
    }

    /// Bytes one value of a GGUF value type takes at least (a string or array may take more).
    private static func minimumSize(ofValueType type: UInt32) -> Int? {
        switch type {
        case 0, 1, 7: 1
        case 2, 3: 2
        case 4, 5, 6: 4
        case 8, 10, 11, 12: 8
        case 9: 12
        default: nil
        }
    }

    private static func alignment(
        in metadata: [String: GGUFValue], reader: ByteReader
    ) throws(CheckpointError) -> Int {
        guard let value = metadata["general.alignment"] else { return defaultAlignment }
        guard let alignment = value.int, alignment > 0, alignment.nonzeroBitCount == 1,
              alignment <= 1 << 20
        else {
            throw reader.error(.malformed(
                "general.alignment must be a power of two up to 2^20, found \(value)"))
        }
        return alignment
    }

    // MARK: Tensor infos

    private mutating func readTensorInfo(
        index: Int
    ) throws(CheckpointError) -> (name: String, ne: [Int], type: GGMLType, offset: UInt64) {
        let name = try reader.readString("name of tensor \(index)")
        let dimensions = try reader.read(UInt32.self, "dimension count of '\(name)'")
        guard dimensions <= Self.maxDimensions else {
            throw reader.error(.malformed(
                "tensor '\(name)' has \(dimensions) dimensions (at most \(Self.maxDimensions))"))
        }
        var ne: [Int] = []
        for axis in 0..<Int(dimensions) {
            let extent = try reader.read(UInt64.self, "ne[\(axis)] of '\(name)'")
            guard let value = Int(exactly: extent) else {
                throw reader.error(.malformed("tensor '\(name)' has extent \(extent)"))
            }
            ne.append(value)
        }
        let type = GGMLType(id: try reader.read(UInt32.self, "type of '\(name)'"))
        let offset = try reader.read(UInt64.self, "offset of '\(name)'")
        return (name, ne, type, offset)
    }

    /// Checks a tensor's extents, alignment and extent in the file, and makes its offset absolute.
    private func place(
        _ entry: (name: String, ne: [Int], type: GGMLType, offset: UInt64),
        dataOffset: Int, alignment: Int
    ) throws(CheckpointError) -> GGUFTensorInfo {
        let name = entry.name
        var count = 1
        for extent in entry.ne {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow else {
                throw reader.error(.malformed("tensor '\(name)' has too many elements \(entry.ne)"))
            }
            count = product
        }
        var byteCount: Int?
        if let blockSize = entry.type.blockSize {
            guard (entry.ne.first ?? 1) % blockSize == 0,
                  let bytes = entry.type.byteCount(elements: count)
            else {
                throw reader.error(.malformed(
                    "tensor '\(name)' of type \(entry.type) has rows of \(entry.ne.first ?? 1)"
                        + " elements, not a multiple of its block size \(blockSize)"))
            }
            byteCount = bytes
        }
        guard entry.offset % UInt64(alignment) == 0 else {
            throw reader.error(.malformed(
                "tensor '\(name)' offset \(entry.offset) is not a multiple of the alignment"
                    + " \(alignment)"))
        }
        let fileSize = reader.bytes.count
        let available = fileSize - min(dataOffset, fileSize)
        guard let relative = Int(exactly: entry.offset), relative <= available,
              byteCount ?? 0 <= available - relative
        else {
            throw reader.error(.truncated(
                "tensor '\(name)' (\(byteCount.map { "\($0) bytes" } ?? "unknown size") at offset"
                    + " \(entry.offset) of the data section, which starts at \(dataOffset)) runs"
                    + " past the end of the file (\(fileSize) bytes)"))
        }
        return GGUFTensorInfo(
            name: name, shape: entry.ne.reversed(), type: entry.type,
            offset: dataOffset + relative, byteCount: byteCount)
    }

    /// Checks that the tensors tile the data section as GGUF writers lay them out: in tensor-info
    /// order, each tensor starts where the previous one's bytes, padded to the alignment, end
    /// (the first at 0). A tensor whose type was changed to a smaller one that still fits, or
    /// whose offset was moved, breaks that chain; so do overlapping ranges. llama.cpp enforces
    /// the same rule when it opens a file (ggml-org/llama.cpp `ggml/src/gguf.cpp` at 067d44f6,
    /// `gguf_init_from_reader`, the block "compute the total size of the data section": "tensor
    /// '%s' has offset %" PRIu64 ", expected %zu", with `GGML_PAD(ggml_nbytes(...), alignment)`).
    /// After the last tensor, less than one alignment unit of padding may follow (writers pad
    /// every tensor), so the last tensor cannot shrink unnoticed either. A size change smaller
    /// than the alignment (32 bytes by default) is absorbed by the padding and cannot be seen;
    /// only tensors of fewer than about 32 elements are that small.
    /// A tensor of an unknown type has no known size: the chain restarts after it, and the next
    /// tensor must only start after it.
    private static func checkPacking(
        _ entries: [(name: String, ne: [Int], type: GGMLType, offset: UInt64)], alignment: Int,
        dataBytes: Int, reader: ByteReader
    ) throws(CheckpointError) {
        var expected: UInt64? = 0
        var unknownStart: UInt64 = 0
        var lastEnd: (name: String, end: UInt64)?
        for entry in entries {
            if let expected, entry.offset != expected {
                throw reader.error(.malformed(
                    "tensor '\(entry.name)' (\(entry.type) \(Array(entry.ne.reversed()))) starts at"
                        + " offset \(entry.offset) of the data section, expected \(expected): the"
                        + " tensor before it has another size than its type and shape imply, or"
                        + " the ranges overlap or leave a gap"))
            }
            guard expected != nil || entry.offset > unknownStart else {
                throw reader.error(.malformed(
                    "tensor '\(entry.name)' at offset \(entry.offset) overlaps the tensor before it"))
            }
            let count = entry.ne.reduce(1, *)  // overflow already refused by `place`
            if let bytes = entry.type.byteCount(elements: count) {
                let padded = (UInt64(bytes) + UInt64(alignment) - 1) / UInt64(alignment)
                    * UInt64(alignment)
                expected = entry.offset + padded  // both bounded by the file size
                lastEnd = (entry.name, entry.offset + UInt64(bytes))
            } else {
                expected = nil
                unknownStart = entry.offset
                lastEnd = nil
            }
        }
        if let lastEnd, UInt64(dataBytes) - lastEnd.end >= UInt64(alignment) {
            throw reader.error(.malformed(
                "\(UInt64(dataBytes) - lastEnd.end) bytes follow the last tensor '\(lastEnd.name)'"
                    + " (at most \(alignment - 1) bytes of padding): its size is not what its type"
                    + " and shape imply"))
        }
    }

    /// The four magic bytes, as text when printable and as hex otherwise.
    static func describeMagic(_ magic: UInt32) -> String {
        let bytes = withUnsafeBytes(of: magic.littleEndian) { Array($0) }
        if bytes.allSatisfy({ (0x20..<0x7F).contains($0) }) {
            return "\"" + String(decoding: bytes, as: UTF8.self) + "\""
        }
        return bytes.map { "0x" + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
    }
}
