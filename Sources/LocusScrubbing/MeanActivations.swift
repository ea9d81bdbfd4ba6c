import LocusCore
import Foundation
import LocusData
import LocusModel

/// Mean activation at a site over a reference data set, for mean ablation: the average of every
/// token row of every input (position-independent, so inputs may differ in length), full width.
///
/// Cached on disk: the file name is the SHA-256 of (model sha256, site, the inputs' token ids,
/// the number of inputs), so a different model, site, data set or sample size never reuses it.
public enum MeanActivations {
    /// Computes the mean, in forward calls of at most `tokensPerCall` tokens.
    public static func compute(
        model: DecoderModel, site: ActivationSite, inputs: [[Int]], tokensPerCall: Int = 2048
    ) throws -> [Float] {
        let width = site.width(in: model.config)
        var sum = [Double](repeating: 0, count: width)
        var rows = 0
        let collector = SumHook(site: site, width: width)
        for chunk in chunked(inputs, tokensPerCall: tokensPerCall) {
            _ = try model.forward(chunk, hooks: [collector], logits: .none)
        }
        sum = collector.sum
        rows = collector.rows
        precondition(rows > 0, "no inputs for the mean")
        return sum.map { Float($0 / Double(rows)) }
    }

    /// The cached mean when present, else computes and stores it under `directory`.
    public static func cached(
        model: DecoderModel, modelSHA256: String, site: ActivationSite, inputs: [[Int]],
        directory: URL
    ) throws -> (mean: [Float], key: String, fromCache: Bool) {
        var key = "\(modelSHA256)|\(site)|\(inputs.count)|"
        key += inputs.map { $0.map(String.init).joined(separator: ",") }.joined(separator: ";")
        let name = SHA256.hex(Data(key.utf8))
        let url = directory.appendingPathComponent("mean-\(name).f32")
        let width = site.width(in: model.config)
        if let data = try? Data(contentsOf: url), data.count == width * 4 {
            let mean = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            return (mean, name, true)
        }
        let mean = try compute(model: model, site: site, inputs: inputs)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try AtomicFile.write(mean.withUnsafeBufferPointer { Data(buffer: $0) }, to: url)
        return (mean, name, false)
    }

    /// Splits sequences into groups of at most `tokensPerCall` tokens (one sequence may exceed it).
    public static func chunked(_ inputs: [[Int]], tokensPerCall: Int) -> [[[Int]]] {
        var chunks: [[[Int]]] = []
        var current: [[Int]] = []
        var tokens = 0
        for input in inputs {
            if !current.isEmpty && tokens + input.count > tokensPerCall {
                chunks.append(current)
                current = []
                tokens = 0
            }
            current.append(input)
            tokens += input.count
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }
}

/// Sums every row at one site (reads only).
final class SumHook: ActivationHook {
    let site: ActivationSite
    var sum: [Double]
    var rows = 0
    var sites: Set<ActivationSite> { [site] }

    init(site: ActivationSite, width: Int) {
        self.site = site
        sum = [Double](repeating: 0, count: width)
    }

    func visit(_ batch: ActivationBatch) {
        let n = batch.rowCount
        for r in 0..<n {
            let row = batch.values + r * batch.width
            for c in 0..<batch.width { sum[c] += Double(row[c]) }
        }
        rows += n
    }
}
