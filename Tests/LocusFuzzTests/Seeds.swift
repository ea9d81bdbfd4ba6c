import LocusCore
import Foundation
import LocusSteering
import LocusInterventions
import LocusTestSupport

/// The seed inputs of the fuzz harness, each a real file of its format with its structure mapped.
enum Seeds {
    static var root: URL { TestEnvironment.packageRoot }

    static func bytes(_ relative: String) throws -> [UInt8] {
        let url = root.appendingPathComponent(relative)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TestFailure("\(url.path) is missing (a fuzz seed)")
        }
        return [UInt8](data)
    }

    // MARK: GGUF

    /// Walks a valid GGUF file (independently of the reader under test) and records every field
    /// and boundary: header counts, each key's length, value types, array element types and
    /// counts, string lengths, tensor names, dimension counts, extents, types and offsets, the
    /// start of the data section and of each tensor's data.
    static func mapGGUF(name: String, _ bytes: [UInt8]) throws -> (seed: SeedFile, headerEnd: Int) {
        var fields: [BinaryField] = []
        var boundaries: [Int] = []
        var at = 0
        func take(_ width: Int, _ kind: BinaryField.Kind?) throws -> UInt64 {
            guard at + width <= bytes.count else { throw TestFailure("\(name): seed GGUF is truncated") }
            var v: UInt64 = 0
            for i in 0..<width { v |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
            if let kind { fields.append(BinaryField(offset: at, width: width, kind: kind)) }
            at += width
            boundaries.append(at)
            return v
        }
        func string() throws -> String {
            let n = Int(try take(8, .length))
            guard at + n <= bytes.count else { throw TestFailure("\(name): seed GGUF is truncated") }
            let s = String(decoding: bytes[at..<(at + n)], as: UTF8.self)
            at += n
            boundaries.append(at)
            return s
        }
        func value(_ type: UInt64) throws -> UInt64? {
            switch type {
            case 0, 1, 7: return try take(1, .scalar)
            case 2, 3: return try take(2, .scalar)
            case 4, 5, 6: return try take(4, .scalar)
            case 10, 11, 12: return try take(8, .scalar)
            case 8:
                _ = try string()
                return nil
            case 9:
                let element = try take(4, .type)
                let count = try take(8, .count)
                for _ in 0..<count { _ = try value(element) }
                return nil
            default: throw TestFailure("\(name): unknown value type \(type)")
            }
        }
        _ = try take(4, .header)  // magic
        _ = try take(4, .header)  // version
        let tensorCount = try take(8, .count)
        let metadataCount = try take(8, .count)
        var alignment: UInt64 = 32
        for _ in 0..<metadataCount {
            let key = try string()
            let type = try take(4, .type)
            let v = try value(type)
            if key == "general.alignment", let v { alignment = v }
        }
        var offsets: [UInt64] = []
        for _ in 0..<tensorCount {
            _ = try string()
            let dims = try take(4, .count)
            for _ in 0..<dims { _ = try take(8, .extent) }
            _ = try take(4, .type)
            offsets.append(try take(8, .offset))
        }
        let headerEnd = at
        let dataStart = (UInt64(at) + alignment - 1) / alignment * alignment
        boundaries.append(Int(dataStart))
        for o in offsets { boundaries.append(Int(dataStart + o)) }
        boundaries.append(bytes.count)
        return (SeedFile(name: name, bytes: bytes, boundaries: boundaries, fields: fields), headerEnd)
    }

    /// The real SmolLM2 checkpoint's header, metadata only: the file's bytes up to the end of its
    /// metadata with the tensor count set to 0 — every key, the 49152-token vocabulary and the
    /// merges exactly as shipped, and no tensor data (about 2 MB instead of 100).
    static func smolLMHeader() throws -> SeedFile {
        let url = try TestEnvironment.modelURL()
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw TestFailure("cannot open \(url.path)")
        }
        defer { try? handle.close() }
        var head = [UInt8](handle.readData(ofLength: 16 << 20))
        for i in 8..<16 { head[i] = 0 }  // tensor count 0: the walk stops after the metadata
        let end = try mapGGUF(name: "probe", head).headerEnd
        return try mapGGUF(name: "smollm2-header.gguf", Array(head[..<end])).seed
    }

    // MARK: Safetensors

    /// A safetensors file: the length field, every structural character of the JSON header, and
    /// every tensor's data start.
    static func mapSafetensors(name: String, _ bytes: [UInt8]) -> SeedFile {
        var length = 0
        for i in 0..<8 { length |= Int(bytes[i]) << (8 * i) }
        var boundaries = [0, 8, 8 + length, bytes.count]
        let header = Array(bytes[8..<(8 + length)])
        boundaries += textBoundaries(header).map { $0 + 8 }
        // Tensor data starts: every data_offsets begin.
        if let json = try? JSONSerialization.jsonObject(with: Data(header)) as? [String: Any] {
            for case let entry as [String: Any] in json.values {
                if let offsets = entry["data_offsets"] as? [Int] { boundaries += offsets.map { 8 + length + $0 } }
            }
        }
        // The length field, and each number of the header as an 8-byte-wide field is not
        // meaningful in text: header numbers are mutated as text by `jsonHeaderMutation`.
        let fields = [BinaryField(offset: 0, width: 8, kind: .length)]
            + numberFields(header).map { BinaryField(offset: $0.offset + 8, width: $0.width, kind: .extent) }
        return SeedFile(name: name, bytes: bytes, boundaries: boundaries, fields: fields)
    }

    /// ASCII digits runs of a JSON text as fields (a bit flip there changes a shape or an offset
    /// digit; an overwrite puts arbitrary bytes in the header).
    static func numberFields(_ text: [UInt8]) -> [(offset: Int, width: Int)] {
        var out: [(Int, Int)] = []
        var i = 0
        while i < text.count {
            if (48...57).contains(text[i]) {
                var j = i
                while j < text.count, (48...57).contains(text[j]) { j += 1 }
                out.append((i, min(j - i, 8)))
                i = j
            } else {
                i += 1
            }
        }
        return out
    }

    /// A steering file as `locus steer` writes it (head vectors for three heads of width 16, or
    /// rank one), from `SteeringFile.write`.
    static func steeringFile(rankOne: Bool, scratch: URL) throws -> SeedFile {
        let heads = [AttentionHead(layer: 0, head: 1), AttentionHead(layer: 1, head: 0), AttentionHead(layer: 1, head: 3)]
        var p = SteeringParameters(
            parameterization: rankOne ? .rankOne : .headVectors, heads: heads, headWidth: 16, seed: 4)
        p.values = p.values.indices.map { Float($0 % 7) * 0.125 - 0.3 }
        let url = scratch.appendingPathComponent(rankOne ? "seed-rank-one.safetensors" : "seed-vectors.safetensors")
        try SteeringFile(parameters: p, positions: .answer).write(to: url)
        let bytes = [UInt8](try Data(contentsOf: url))
        return mapSafetensors(name: url.lastPathComponent, bytes)
    }

    // MARK: Text

    static func text(name: String, _ bytes: [UInt8]) -> SeedFile {
        SeedFile(name: name, bytes: bytes, boundaries: textBoundaries(bytes))
    }

    static let preferenceCSV = """
        prompt,chosen,rejected,source
        "Q: What is 2+2?\\nA:", 4., 5.,arith
        "Q: Is the sky green?
        A:"," No, it is blue."," Yes.",colours
        "Q: Say ""hi"".",hi,"bye, then",quotes
        Q: Capital of France?, Paris., Lyon.,geo
        Q: Capital of France?, Paris is., Nice.,geo

        """

    static let preferenceJSONL = """
        {"prompt": "Q: What is 2+2?\\nA:", "chosen": " 4.", "rejected": " 5.", "group": 1}
        {"prompt": "Q: Is the sky green?\\nA:", "chosen": " No.", "rejected": " Yes.", "group": 2}
        {"prompt": "Q: Say \\"hi\\".", "chosen": "hi", "rejected": "bye, then", "group": 3}

        {"prompt": "Q: Capital of France?", "chosen": " Paris.", "rejected": " Lyon.", "group": 4}

        """
}
