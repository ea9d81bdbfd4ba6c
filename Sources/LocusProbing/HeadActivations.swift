import LocusCore
import Foundation
import LocusData

/// What an activation cache holds and how it was made; the JSON half of a cache entry.
public struct HeadActivationHeader: Codable, Equatable, Sendable {
    public static let currentFormat = "locus.head-activations/1"

    public var format: String = HeadActivationHeader.currentFormat
    public var modelFile: String
    public var modelSHA256: String
    public var promptFormat: ProbePromptFormat
    /// Printed site names, `blocks.{l}.attn.hook_z` for every layer.
    public var site: String = "blocks.*.attn.hook_z"
    /// Which token of each sample: always its last.
    public var position: String = "last token"
    /// Whether a BOS token was prepended (`Tokenizer.encodePrompt`: where the checkpoint's
    /// tokenizer config says so; SmolLM2's does not).
    public var bos: Bool = false
    public var layerCount: Int
    public var headCount: Int
    public var headWidth: Int
    public var sampleCount: Int
    public var samplesSHA256: String
    public var dtype: String = "float32 little-endian"
    /// Values file layout: layer-major, so one layer's (sample, H·D) block is contiguous.
    public var layout: String = "(layer, sample, head * headWidth)"
    /// Per sample: its question id and label (texts are in the samples digest).
    public var questionIDs: [Int]
    public var labels: [Bool]
    public var tokenCount: Int
    public var seconds: Double

    public var width: Int { headCount * headWidth }

    public init(
        modelFile: String, modelSHA256: String, promptFormat: ProbePromptFormat, bos: Bool = false,
        layerCount: Int, headCount: Int, headWidth: Int, sampleCount: Int, samplesSHA256: String,
        questionIDs: [Int], labels: [Bool], tokenCount: Int, seconds: Double
    ) {
        self.modelFile = modelFile
        self.modelSHA256 = modelSHA256
        self.promptFormat = promptFormat
        self.bos = bos
        self.layerCount = layerCount
        self.headCount = headCount
        self.headWidth = headWidth
        self.sampleCount = sampleCount
        self.samplesSHA256 = samplesSHA256
        self.questionIDs = questionIDs
        self.labels = labels
        self.tokenCount = tokenCount
        self.seconds = seconds
    }

    /// The cache key: a digest of everything that determines the values.
    public static func key(
        modelSHA256: String, promptFormat: ProbePromptFormat, samplesSHA256: String, bos: Bool
    ) -> String {
        var h = SHA256()
        h.update("\(currentFormat)\n\(modelSHA256)\n\(promptFormat.template)\n\(samplesSHA256)\n\(bos)")
        return String(h.finalizeHex().prefix(20))
    }

    public var key: String {
        Self.key(
            modelSHA256: modelSHA256, promptFormat: promptFormat, samplesSHA256: samplesSHA256,
            bos: bos)
    }
}

/// z[l, h] at the last token of every probe sample, for all layers and heads: the input of the
/// probes. Stored on disk as `headz-{key}.json` (header) + `headz-{key}.f32` (values).
public final class HeadActivations: @unchecked Sendable {
    public let header: HeadActivationHeader
    private let storage: Data  // (L, S, H·D) Float32

    public init(header: HeadActivationHeader, values: [Float]) {
        precondition(values.count == header.layerCount * header.sampleCount * header.width)
        self.header = header
        storage = values.withUnsafeBufferPointer { Data(buffer: $0) }
    }

    init(header: HeadActivationHeader, storage: Data) {
        self.header = header
        self.storage = storage
    }

    /// Calls `body` with layer l's (sample, H·D) block.
    public func withLayer<R>(_ l: Int, _ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        let n = header.sampleCount * header.width
        return try storage.withUnsafeBytes { raw in
            let base = raw.baseAddress!.assumingMemoryBound(to: Float.self) + l * n
            return try body(UnsafeBufferPointer(start: base, count: n))
        }
    }

    /// Head h of layer l for the given samples, as a (samples.count, D) row-major `Double` matrix.
    public func head(layer l: Int, head h: Int, samples: [Int]) -> [Double] {
        let d = header.headWidth, w = header.width
        var out = [Double](repeating: 0, count: samples.count * d)
        withLayer(l) { block in
            for (i, s) in samples.enumerated() {
                let row = s * w + h * d
                for j in 0..<d { out[i * d + j] = Double(block[row + j]) }
            }
        }
        return out
    }

    public static func headerURL(directory: URL, key: String) -> URL {
        directory.appendingPathComponent("headz-\(key).json")
    }

    public static func valuesURL(directory: URL, key: String) -> URL {
        directory.appendingPathComponent("headz-\(key).f32")
    }

    /// Writes values then header (the header's presence marks a complete entry).
    public func write(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try AtomicFile.write(storage, to: Self.valuesURL(directory: directory, key: header.key))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(try encoder.encode(header), to: Self.headerURL(directory: directory, key: header.key))
    }

    /// The cache entry `key` in `directory`, memory-mapped; `nil` when absent.
    public static func load(directory: URL, key: String) throws -> HeadActivations? {
        let headerURL = headerURL(directory: directory, key: key)
        guard FileManager.default.fileExists(atPath: headerURL.path) else { return nil }
        let header: HeadActivationHeader
        do {
            header = try JSONDecoder().decode(
                HeadActivationHeader.self, from: try Data(contentsOf: headerURL))
        } catch {
            throw DataError(file: headerURL.path, problem: "unreadable cache header: \(error)")
        }
        guard header.format == HeadActivationHeader.currentFormat, header.key == key else {
            throw DataError(file: headerURL.path, problem: "cache header does not match its key")
        }
        let valuesURL = valuesURL(directory: directory, key: key)
        let data = try Data(contentsOf: valuesURL, options: .alwaysMapped)
        let expected = header.layerCount * header.sampleCount * header.width * 4
        guard data.count == expected else {
            throw DataError(
                file: valuesURL.path, problem: "holds \(data.count) bytes, expected \(expected)")
        }
        return HeadActivations(header: header, storage: data)
    }
}
