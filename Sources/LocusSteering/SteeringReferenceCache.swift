import Foundation
import LocusCore
import LocusData

/// π₀'s log-probs of a pair list, kept on disk by content so that every run of a sweep that
/// trains on the same pairs computes them once (a Wang & Veitch recipe trains 50+ head sets ×
/// 3 τ on one split: the unedited model's log-probs are the same for all of them).
///
/// The key is the SHA-256 of everything the numbers depend on: the model (its checkpoint's
/// sha256, given by the caller), the shared prefix and every pair's tokens in order, length
/// normalisation, the batch size and the layout switches of the trainer (which decide which rows
/// share a matrix product, hence the float rounding). A file holds the pair count and then
/// log π₀(y⁺|x), log π₀(y⁻|x) per pair as little-endian Float64, so a hit returns the very
/// numbers the computation returned. A file of the wrong size (a crash cannot leave one:
/// writes are atomic) is treated as missing and rewritten.
public struct SteeringReferenceCache: Sendable {
    public static let format = "locus.ipo-reference/1"
    /// e.g. `runs/cache/ipo-reference` under the work directory.
    public let directory: URL
    /// sha256 of the model checkpoint.
    public let modelSHA256: String

    public init(directory: URL, modelSHA256: String) {
        self.directory = directory
        self.modelSHA256 = modelSHA256
    }

    /// The file that holds (or will hold) π₀'s log-probs of `pairs` under `trainer`'s settings.
    public func url(for pairs: [TokenizedPair], trainer: SteeringTrainer) -> URL {
        var h = SHA256()
        h.update(Self.format)
        h.update("|model \(modelSHA256)")
        h.update("|prefix \(trainer.sharedPrefix.map(String.init).joined(separator: ","))")
        h.update("|lengthNormalized \(trainer.configuration.lengthNormalized)")
        h.update("|batchSize \(trainer.configuration.batchSize)")
        h.update(
            "|layout \(trainer.continuesCachedPrefix) \(trainer.sharesPairPrompts) \(trainer.scoresDistinctAnswers)")
        for pair in pairs {
            func ids(_ t: [Int]) -> String { t.map(String.init).joined(separator: ",") }
            h.update("|\(ids(pair.prompt));\(ids(pair.chosen));\(ids(pair.rejected))")
        }
        return directory.appendingPathComponent("\(modelSHA256.prefix(16))-\(h.finalizeHex().prefix(32)).f64")
    }

    /// The cached log-probs, or nil when there are none (or the file does not hold `count` pairs).
    public func load(_ url: URL, count: Int) -> [PairLogProbabilities]? {
        guard let data = try? Data(contentsOf: url), data.count == 8 * (1 + 2 * count) else { return nil }
        let values: [Double] = data.withUnsafeBytes { raw in
            (0..<(1 + 2 * count)).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) }
        }
        guard values[0] == Double(count) else { return nil }
        return (0..<count).map { PairLogProbabilities(chosen: values[1 + 2 * $0], rejected: values[2 + 2 * $0]) }
    }

    public func store(_ logProbabilities: [PairLogProbabilities], at url: URL) throws {
        var data = Data(capacity: 8 * (1 + 2 * logProbabilities.count))
        func append(_ x: Double) { withUnsafeBytes(of: x.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        append(Double(logProbabilities.count))
        for p in logProbabilities {
            append(p.chosen)
            append(p.rejected)
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try AtomicFile.write(data, to: url)
    }

    /// π₀'s log-probs of `pairs`: read from the cache, or computed by `trainer` and stored.
    public func referenceLogProbabilities(
        _ pairs: [TokenizedPair], trainer: SteeringTrainer, progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> (logProbabilities: [PairLogProbabilities], cached: Bool) {
        let url = url(for: pairs, trainer: trainer)
        if let hit = load(url, count: pairs.count) { return (hit, true) }
        let computed = try trainer.logProbabilities(pairs, steered: false, progress: progress)
        try store(computed, at: url)
        return (computed, false)
    }
}
