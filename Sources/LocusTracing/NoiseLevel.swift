import LocusCore
import Foundation
import LocusData
import LocusModel
import LocusTokenizer

/// The causal-tracing noise level ν (METHODS.md §6), as ROME computes it.
///
/// kmeng01/rome `experiments/causal_trace.py` (commit 0874014): `--noise_level s3` (L54, L77–86)
/// sets ν = 3 × `collect_embedding_std(mt, [k["subject"] for k in knowns])`, and
/// `collect_embedding_std` (L647–656) embeds every known fact's subject tokenized alone
/// (`make_inputs` → `tokenizer.encode(s)`, L592–606), concatenates all the token embeddings and
/// takes `torch.std` of every element (unbiased, n − 1). google/belief-localization's
/// `third_party/experiments/causal_trace.py` L80–88 and L752–761 do the same.
/// Not the std of the whole embedding matrix (`CausalTracer.embeddingStandardDeviation`, kept
/// for comparison): rare vocabulary rows differ from the rows subjects actually use.
public enum NoiseLevel {
    /// std (n − 1) of every element of the embeddings of every subject's tokens, each subject
    /// tokenized alone with `tokenizer.encode` (duplicates counted as often as they occur, as
    /// ROME does). Accumulated in Double, two passes.
    public static func subjectEmbeddingStandardDeviation(
        model: DecoderModel, tokenizer: any Tokenizer, subjects: [String]
    ) throws -> SubjectEmbeddingStatistics {
        let c = model.config.hiddenSize, v = model.config.vocabularySize
        let e = model.weights.embedding.pointer  // (V, C)
        var ids: [Int] = []
        for s in subjects {
            let t = tokenizer.encode(s)
            guard t.allSatisfy({ $0 >= 0 && $0 < v }) else {
                throw TraceError("subject '\(s)' tokenizes outside the vocabulary")
            }
            ids += t
        }
        guard !ids.isEmpty else { throw TraceError("no subject tokens to estimate the noise level from") }
        let n = Double(ids.count * c)
        var sum = 0.0
        for id in ids { for i in 0..<c { sum += Double(e[id * c + i]) } }
        let mean = sum / n
        var squares = 0.0
        for id in ids {
            for i in 0..<c {
                let d = Double(e[id * c + i]) - mean
                squares += d * d
            }
        }
        // The blocks see the embeddings times the family's scale (Gemma: √C), as does ROME's
        // hook on the embedding module's output; std scales by |scale|.
        let scale = Double(abs(model.config.architecture.embeddingScale ?? 1))
        return SubjectEmbeddingStatistics(
            standardDeviation: n > 1 ? scale * (squares / (n - 1)).squareRoot() : 0,
            subjects: subjects.count, tokens: ids.count)
    }
}

/// The statistics behind ν, as recorded in outputs and the cache.
public struct SubjectEmbeddingStatistics: Sendable, Equatable, Codable {
    /// std (n − 1) of every subject-token embedding element.
    public var standardDeviation: Double
    public var subjects: Int
    public var tokens: Int

    public init(standardDeviation: Double, subjects: Int, tokens: Int) {
        self.standardDeviation = standardDeviation
        self.subjects = subjects
        self.tokens = tokens
    }

    /// Read from `url` if present, else computed and written there (JSON). The cache key is the
    /// caller's: one file per (model sha256, known-facts file sha256).
    public static func cached(
        at url: URL, compute: () throws -> SubjectEmbeddingStatistics
    ) throws -> SubjectEmbeddingStatistics {
        if let data = try? Data(contentsOf: url),
            let s = try? JSONDecoder().decode(SubjectEmbeddingStatistics.self, from: data)
        {
            return s
        }
        let s = try compute()
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(try encoder.encode(s), to: url)
        return s
    }
}
