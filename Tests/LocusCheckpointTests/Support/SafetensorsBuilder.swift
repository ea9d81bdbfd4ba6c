/// Writes safetensors files byte by byte: `u64` header length, JSON header, data.
struct SafetensorsBuilder {
    struct Tensor {
        var name: String
        var dtype: String
        var shape: [Int]
        var data: [UInt8]
    }

    var tensors: [Tensor] = []
    var metadata: [String: String]?
    /// Replaces the JSON header text (then `tensors` only supply the data).
    var headerOverride: String?
    var headerLengthOverride: UInt64?

    var header: String {
        if let headerOverride { return headerOverride }
        var entries: [String] = []
        if let metadata {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }
            entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for tensor in tensors {
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append(
                "\"\(tensor.name)\":{\"dtype\":\"\(tensor.dtype)\",\"shape\":[\(shape)],"
                    + "\"data_offsets\":[\(offset),\(offset + tensor.data.count)]}")
            offset += tensor.data.count
        }
        var text = "{" + entries.joined(separator: ",") + "}"
        while text.utf8.count % 8 != 0 { text += " " }  // the reference writer pads with spaces
        return text
    }

    func build() -> [UInt8] {
        var sink = ByteSink()
        let json = Array(header.utf8)
        sink.append(headerLengthOverride ?? UInt64(json.count))
        sink.bytes.append(contentsOf: json)
        for tensor in tensors { sink.bytes.append(contentsOf: tensor.data) }
        return sink.bytes
    }

    static func bytes(of values: [Float]) -> [UInt8] {
        var sink = ByteSink()
        for value in values { sink.append(value.bitPattern) }
        return sink.bytes
    }

    static func bytes(ofHalves values: [Float]) -> [UInt8] {
        var sink = ByteSink()
        for value in values { sink.append(Float16(value).bitPattern) }
        return sink.bytes
    }

    /// bfloat16 by truncation (exact for the values the tests use).
    static func bytes(ofBFloat16s values: [Float]) -> [UInt8] {
        var sink = ByteSink()
        for value in values { sink.append(UInt16(value.bitPattern >> 16)) }
        return sink.bytes
    }
}
