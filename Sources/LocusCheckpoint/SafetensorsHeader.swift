import Foundation

/// One tensor of a safetensors file.
public struct SafetensorsTensorInfo: Hashable, Sendable {
    public let name: String
    /// The dtype as written, e.g. `F32`, `BF16`, `I64`.
    public let dtype: String
    /// Row-major shape (safetensors stores it that way already).
    public let shape: [Int]
    /// Offset of the first byte from the start of the file (8 + header length + `data_offsets[0]`).
    public let offset: Int
    public let byteCount: Int

    public var elementCount: Int { shape.reduce(1, *) }

    /// The matching ggml element type when this reader can decode the dtype (F32, F16, BF16).
    var elementType: GGMLType? {
        switch dtype {
        case "F32": .f32
        case "F16": .f16
        case "BF16": .bf16
        default: nil
        }
    }
}

/// Reads a safetensors header:
///
///     header length N: u64 little-endian · N bytes of UTF-8 JSON (may be space-padded) · data
///
/// The JSON maps each tensor name to `{"dtype": "F32", "shape": [..], "data_offsets": [b, e]}`,
/// where `[b, e)` is the byte range relative to the start of the data; the optional key
/// `__metadata__` maps strings to strings.
struct SafetensorsParser {
    /// The reference implementation refuses larger headers; so do we, before decoding.
    static let maxHeaderLength = 100_000_000

    /// Bytes per element of every dtype the format defines (unknown ones are not size-checked).
    static let elementSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
        "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
        "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8, "F64": 8,
    ]

    let bytes: UnsafeRawBufferPointer
    let file: String

    func parse(
    ) throws(CheckpointError) -> (tensors: [SafetensorsTensorInfo], metadata: [String: String]) {
        var reader = ByteReader(bytes: bytes, file: file)
        let declared = try reader.read(UInt64.self, "header length")
        guard declared <= UInt64(Self.maxHeaderLength) else {
            throw error(.malformed(
                "header length \(declared) exceeds the format's limit of \(Self.maxHeaderLength)"))
        }
        let length = Int(declared)
        try reader.require(length, for: "JSON header")
        let json = Data(UnsafeRawBufferPointer(rebasing: bytes[8..<8 + length]))
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: json)
        } catch {
            throw self.error(.malformed("header is not valid safetensors JSON: \(brief(error))"))
        }
        let dataStart = 8 + length
        var tensors: [SafetensorsTensorInfo] = []
        for (name, entry) in header.entries {
            tensors.append(try place(name, entry, dataStart: dataStart))
        }
        tensors.sort { ($0.offset, $0.byteCount, $0.name) < ($1.offset, $1.byteCount, $1.name) }
        try checkTiling(tensors, dataStart: dataStart)
        return (tensors, header.metadata)
    }

    /// Checks that the tensors' byte ranges tile the data section exactly: sorted by offset, the
    /// first starts at 0, each starts where the one before ends (no overlap, no gap), and the last
    /// ends at the end of the file. Hugging Face's reader refuses any other layout
    /// (huggingface/safetensors `safetensors/src/tensor.rs`, `Metadata::validate`:
    /// `InvalidOffset` unless `start == previous end`, and `MetadataIncompleteBuffer` unless the
    /// last end is the buffer length), so every file it writes passes. With each range's size
    /// already equal to its dtype × shape, a dtype changed to a larger or smaller one cannot hide.
    private func checkTiling(
        _ tensors: [SafetensorsTensorInfo], dataStart: Int
    ) throws(CheckpointError) {
        var end = dataStart
        var previous: String?
        for tensor in tensors {
            guard tensor.offset == end else {
                let after = previous.map { "after tensor '\($0)', which ends at \(end - dataStart)" }
                    ?? "at the start of the data"
                throw error(.malformed(
                    "tensor '\(tensor.name)' starts at data offset \(tensor.offset - dataStart) "
                        + (tensor.offset < end ? "inside the range " : "leaving a gap ") + after))
            }
            end = tensor.offset + tensor.byteCount
            previous = tensor.name
        }
        guard end == bytes.count else {
            throw error(.malformed(
                "the tensors' data ends at byte \(end), the file has \(bytes.count) bytes"
                    + " (\(bytes.count - end) bytes no tensor claims)"))
        }
    }

    private func place(
        _ name: String, _ entry: Header.Entry, dataStart: Int
    ) throws(CheckpointError) -> SafetensorsTensorInfo {
        var count = 1
        for extent in entry.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard extent >= 0, !overflow else {
                throw error(.malformed("tensor '\(name)' has shape \(entry.shape)"))
            }
            count = product
        }
        guard entry.dataOffsets.count == 2, entry.dataOffsets[0] >= 0,
              entry.dataOffsets[0] <= entry.dataOffsets[1]
        else {
            throw error(.malformed("tensor '\(name)' has data_offsets \(entry.dataOffsets)"))
        }
        let (begin, end) = (entry.dataOffsets[0], entry.dataOffsets[1])
        guard end <= bytes.count - dataStart else {
            throw error(.truncated(
                "tensor '\(name)' needs data bytes \(begin)..<\(end), the file holds"
                    + " \(bytes.count - dataStart) after its header"))
        }
        if let size = Self.elementSizes[entry.dtype] {
            let (expected, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow, expected == end - begin else {
                throw error(.malformed(
                    "tensor '\(name)' (\(entry.dtype) \(entry.shape)) spans \(end - begin) bytes"))
            }
        }
        return SafetensorsTensorInfo(
            name: name, dtype: entry.dtype, shape: entry.shape, offset: dataStart + begin,
            byteCount: end - begin)
    }

    private func error(_ problem: CheckpointError.Problem) -> CheckpointError {
        CheckpointError(file: file, problem: problem)
    }

    /// A decoding error in one line: what was wrong and at which key path.
    private func brief(_ error: any Error) -> String {
        guard let decoding = error as? DecodingError else { return "\(error)" }
        switch decoding {
        case .typeMismatch(_, let context), .valueNotFound(_, let context),
             .keyNotFound(_, let context), .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// The decoded JSON header: tensor entries in any order, plus `__metadata__`.
private struct Header: Decodable {
    struct Entry: Decodable {
        let dtype: String
        let shape: [Int]
        let dataOffsets: [Int]

        enum CodingKeys: String, CodingKey {
            case dtype, shape
            case dataOffsets = "data_offsets"
        }
    }

    struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    var entries: [(String, Entry)] = []
    var metadata: [String: String] = [:]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == "__metadata__" {
                // Only strings are allowed; other values are tolerated and ignored.
                metadata = (try? container.decode([String: String].self, forKey: key)) ?? [:]
            } else {
                entries.append((key.stringValue, try container.decode(Entry.self, forKey: key)))
            }
        }
    }
}
