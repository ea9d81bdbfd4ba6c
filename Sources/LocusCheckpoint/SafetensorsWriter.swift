import LocusCore
import Foundation

/// Writes F32 tensors in the safetensors format: an 8-byte little-endian header length, a JSON
/// header `{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
/// "__metadata__": {...}}` padded with spaces to a multiple of 8, then the raw data.
///
/// The file is written to a temporary name and renamed into place, so a reader never sees a
/// partial file and an interrupted write loses nothing that was there before.
public enum SafetensorsWriter {
    public struct Tensor: Sendable {
        public var name: String
        public var shape: [Int]
        public var values: [Float]

        public init(name: String, shape: [Int], values: [Float]) {
            precondition(shape.reduce(1, *) == values.count, "shape \(shape) ≠ \(values.count) values")
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    public static func write(_ tensors: [Tensor], metadata: [String: String] = [:], to url: URL) throws {
        var header: [String: JSONValue] = [:]
        var offset = 0
        for t in tensors {
            let bytes = t.values.count * 4
            header[t.name] = [
                "dtype": "F32", "shape": .array(t.shape.map(JSONValue.integer)),
                "data_offsets": [.integer(offset), .integer(offset + bytes)],
            ]
            offset += bytes
        }
        if !metadata.isEmpty { header["__metadata__"] = JSONValue(metadata.mapValues(JSONValue.string)) }
        var json = Data(JSONValue(header).canonicalText.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data()
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        for t in tensors {
            t.values.withUnsafeBufferPointer { buffer in
                for v in buffer {
                    var bits = v.bitPattern.littleEndian
                    withUnsafeBytes(of: &bits) { data.append(contentsOf: $0) }
                }
            }
        }
        try AtomicFile.write(data, to: url)
    }
}
