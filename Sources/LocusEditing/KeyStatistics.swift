import LocusCore
import Foundation
import LocusData
import LocusInterventions
import LocusModel
import LocusTensor

/// Which text the key statistics are computed over; part of the cache key.
public struct KeyStatisticsSample: Sendable, Equatable, Codable {
    /// wikitext-2 split: "test" or "valid".
    public var split: String
    /// Tokens per chunk (each chunk is one sequence, no BOS).
    public var chunkTokens: Int
    /// Chunks drawn (seeded shuffle of all chunks of all articles).
    public var chunkCount: Int
    public var seed: UInt64

    public init(split: String = "test", chunkTokens: Int = 128, chunkCount: Int = 256, seed: UInt64 = 0) {
        self.split = split
        self.chunkTokens = chunkTokens
        self.chunkCount = chunkCount
        self.seed = seed
    }

    public var description: String { "wikitext2-\(split)-c\(chunkTokens)x\(chunkCount)-s\(seed)" }
}

/// C = E[k kᵀ], the uncentred second moment of the MLP keys (`.mlpHidden(layer:)`, width F) at
/// one layer over a corpus (ROME's `mom2`).
public struct KeyStatistics: Sendable {
    public var layer: Int
    public var width: Int
    /// Keys averaged over.
    public var count: Int
    /// (F, F) row-major.
    public var secondMoment: [Double]

    public init(layer: Int, width: Int, count: Int, secondMoment: [Double]) {
        precondition(secondMoment.count == width * width)
        self.layer = layer
        self.width = width
        self.count = count
        self.secondMoment = secondMoment
    }
}

/// Accumulates Σ k kᵀ at several layers in one pass (sgemm per batch, summed in Double).
final class SecondMomentHook: ActivationHook {
    let sites: Set<ActivationSite>
    var sums: [Int: [Double]] = [:]
    var rows = 0
    private var scratch: [Float] = []

    init(layers: [Int]) { sites = Set(layers.map { .mlpHidden(layer: $0) }) }

    func visit(_ batch: ActivationBatch) {
        let f = batch.width, n = batch.rowCount
        if scratch.count != f * f { scratch = [Float](repeating: 0, count: f * f) }
        for i in scratch.indices { scratch[i] = 0 }
        BLAS.linearWeightGradient(
            batch.values, x: batch.values, rows: n, outputWidth: f, inputWidth: f, into: &scratch)
        let l = batch.site.layer
        var sum = sums[l] ?? [Double](repeating: 0, count: f * f)
        for i in 0..<(f * f) { sum[i] += Double(scratch[i]) }
        sums[l] = sum
        if l == sites.map(\.layer).min() { rows += n }
    }
}

extension KeyStatistics {
    /// Seeded chunks of the corpus: every article is tokenized and cut into `chunkTokens`
    /// pieces (the remainder dropped); chunks are shuffled with the seed and the first
    /// `chunkCount` kept.
    public static func chunks(
        documents: [WikiTextDocument], tokenizer: (String) -> [Int], sample: KeyStatisticsSample
    ) -> [[Int]] {
        var g = SeededGenerator(seed: sample.seed)
        var order = Array(documents.indices)
        for i in order.indices.dropLast() {
            let j = i + Int(g.next() % UInt64(order.count - i))
            order.swapAt(i, j)
        }
        var chunks: [[Int]] = []
        for d in order where chunks.count < sample.chunkCount {
            let ids = tokenizer(documents[d].body)
            var start = 0
            while start + sample.chunkTokens <= ids.count, chunks.count < sample.chunkCount {
                chunks.append(Array(ids[start..<(start + sample.chunkTokens)]))
                start += sample.chunkTokens
            }
        }
        return chunks
    }

    /// Computes the statistics of `layers` in one pass over `chunks`, `batch` chunks per call.
    public static func compute(
        model: DecoderModel, layers: [Int], chunks: [[Int]], batch: Int = 8,
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> [Int: KeyStatistics] {
        let hook = SecondMomentHook(layers: layers)
        for first in stride(from: 0, to: chunks.count, by: batch) {
            let part = Array(chunks[first..<min(chunks.count, first + batch)])
            _ = try model.forward(part, hooks: [hook], logits: .none)
            progress?(min(chunks.count, first + batch), chunks.count)
        }
        let f = model.config.intermediateSize
        var result: [Int: KeyStatistics] = [:]
        for l in layers {
            let n = Double(max(1, hook.rows))
            result[l] = KeyStatistics(
                layer: l, width: f, count: hook.rows, secondMoment: hook.sums[l]!.map { $0 / n })
        }
        return result
    }

    // MARK: disk cache

    /// `<directory>/<model sha256>/layer<l>-<sample>.bin`.
    public static func cacheURL(
        directory: URL, modelSHA256: String, layer: Int, sample: KeyStatisticsSample
    ) -> URL {
        directory.appendingPathComponent(modelSHA256)
            .appendingPathComponent("layer\(layer)-\(sample.description).bin")
    }

    /// Little-endian: "LKS1", layer, width, count (Int64 each), then F² Float64 values.
    public func write(to url: URL) throws {
        var data = Data("LKS1".utf8)
        for v in [layer, width, count] { withUnsafeBytes(of: Int64(v).littleEndian) { data.append(contentsOf: $0) } }
        secondMoment.withUnsafeBytes { data.append(contentsOf: $0) }
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AtomicFile.write(data, to: url)
    }

    public static func read(from url: URL) throws -> KeyStatistics {
        let data = try Data(contentsOf: url)
        guard data.count >= 28, data.prefix(4) == Data("LKS1".utf8) else {
            throw EditError("\(url.path): not a key-statistics file")
        }
        func int(_ at: Int) -> Int {
            Int(Int64(littleEndian: data.subdata(in: at..<(at + 8)).withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }))
        }
        let layer = int(4), width = int(12), count = int(20)
        guard data.count == 28 + width * width * 8 else { throw EditError("\(url.path): truncated") }
        var values = [Double](repeating: 0, count: width * width)
        _ = values.withUnsafeMutableBytes { data.copyBytes(to: $0, from: 28..<data.count) }
        return KeyStatistics(layer: layer, width: width, count: count, secondMoment: values)
    }
}

public struct EditError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
