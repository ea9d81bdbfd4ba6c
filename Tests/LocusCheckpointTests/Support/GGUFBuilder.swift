import LocusCheckpoint

/// Little-endian byte sink for building test files.
struct ByteSink {
    var bytes: [UInt8] = []

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(string: String) {
        append(UInt64(string.utf8.count))
        bytes.append(contentsOf: string.utf8)
    }

    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }
}

/// Writes GGUF files byte by byte, independently of the reader under test: header, metadata
/// (every value type, nested arrays), tensor infos, padding to `alignment`, tensor data.
/// Fields can be overridden to produce broken files.
struct GGUFBuilder {
    struct Tensor {
        var name: String
        /// Innermost first, as GGUF stores it.
        var ne: [UInt64]
        var typeID: UInt32
        var data: [UInt8]
    }

    var magic: [UInt8] = Array("GGUF".utf8)
    var version: UInt32 = 3
    var metadata: [(key: String, value: GGUFValue)] = []
    /// The alignment used for padding; add a `general.alignment` entry to announce another one.
    var alignment = 32
    var tensors: [Tensor] = []
    var tensorCountOverride: UInt64?
    var metadataCountOverride: UInt64?

    /// Offsets of each tensor's data from the data-section start.
    var relativeOffsets: [Int] {
        var offsets: [Int] = []
        var next = 0
        for tensor in tensors {
            offsets.append(next)
            next = (next + tensor.data.count + alignment - 1) / alignment * alignment
        }
        return offsets
    }

    func build() -> [UInt8] {
        var sink = ByteSink()
        sink.bytes.append(contentsOf: magic)
        sink.append(version)
        sink.append(tensorCountOverride ?? UInt64(tensors.count))
        sink.append(metadataCountOverride ?? UInt64(metadata.count))
        for (key, value) in metadata {
            sink.append(string: key)
            sink.append(Self.typeID(of: value))
            Self.write(value, to: &sink)
        }
        for (tensor, offset) in zip(tensors, relativeOffsets) {
            sink.append(string: tensor.name)
            sink.append(UInt32(tensor.ne.count))
            for extent in tensor.ne { sink.append(extent) }
            sink.append(tensor.typeID)
            sink.append(UInt64(offset))
        }
        sink.pad(to: alignment)
        let dataStart = sink.bytes.count
        for (tensor, offset) in zip(tensors, relativeOffsets) {
            while sink.bytes.count < dataStart + offset { sink.bytes.append(0) }
            sink.bytes.append(contentsOf: tensor.data)
        }
        return sink.bytes
    }

    /// GGUF value type ids: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool, 8 string,
    /// 9 array, 10 u64, 11 i64, 12 f64.
    static func typeID(of value: GGUFValue) -> UInt32 {
        switch value {
        case .uint8: 0
        case .int8: 1
        case .uint16: 2
        case .int16: 3
        case .uint32: 4
        case .int32: 5
        case .float32: 6
        case .bool: 7
        case .string: 8
        case .array: 9
        case .uint64: 10
        case .int64: 11
        case .float64: 12
        }
    }

    static func write(_ value: GGUFValue, to sink: inout ByteSink) {
        switch value {
        case .uint8(let v): sink.append(v)
        case .int8(let v): sink.append(v)
        case .uint16(let v): sink.append(v)
        case .int16(let v): sink.append(v)
        case .uint32(let v): sink.append(v)
        case .int32(let v): sink.append(v)
        case .uint64(let v): sink.append(v)
        case .int64(let v): sink.append(v)
        case .float32(let v): sink.append(v.bitPattern)
        case .float64(let v): sink.append(v.bitPattern)
        case .bool(let v): sink.append(UInt8(v ? 1 : 0))
        case .string(let v): sink.append(string: v)
        case .array(let elements):
            sink.append(elements.first.map(typeID(of:)) ?? 0)
            sink.append(UInt64(elements.count))
            for element in elements { write(element, to: &sink) }
        }
    }
}
