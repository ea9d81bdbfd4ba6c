import LocusCore
import Foundation
import LocusData
import LocusModel
import LocusTokenizer
import LocusTracing

/// What ν (the tracing noise's std) is a multiple of.
public enum NoiseBasis: String, CaseIterable, Sendable {
    /// ROME's `collect_embedding_std` over the known facts' subjects (`NoiseLevel`).
    case subjects
    /// The std of the whole embedding matrix (Locus before issue 11; not a reference's rule).
    case matrix
}

/// Which token a trace scores.
public enum TracedAnswer: String, CaseIterable, Sendable {
    /// ROME (`experiments/causal_trace.py` L314–317): the clean model's top prediction at the
    /// last position; the expected answer only checks it (`prediction_matches_expected`).
    case prediction
    /// Hase et al. (`tracing.py` L365–366, `explain_quantity='label'`): the given answer's
    /// first token, whatever the model predicts.
    case given
}

/// The tokens after the first of " answer" when `score` is `.wholeAnswer` (belief-localization's
/// `make_inputs` appends `tokenizer.encode(" " + target)`), else none.
public func answerContinuation(_ answer: String, score: TraceAnswerScore, tokenizer: any Tokenizer) -> [Int] {
    score == .wholeAnswer ? Array(tokenizer.encodeContinuation(" " + answer).dropFirst()) : []
}

/// The noise unit for `basis`, with a JSON record of how it was obtained (`override`: the data
/// folder, nil: `dataLocation(nil)`). The subject-embedding
/// std is cached in `runs/cache/noise-level/<model sha256>-<knowns sha256 prefix>.json`.
public func noiseUnit(
    _ lm: LanguageModel, modelSHA256 sha: String, basis: NoiseBasis, data override: String? = nil
) throws -> (Float, JSONValue) {
    switch basis {
    case .matrix:
        let std = CausalTracer.embeddingStandardDeviation(lm.model)
        return (std, .object([("basis", .string("embedding-matrix")), ("std", .float(std))]))
    case .subjects:
        let data = try dataLocation(override)
        let file = data.url("knowns/known_1000.json")
        let fileSHA = try SHA256.hex(ofFile: file)
        let cache = URL(fileURLWithPath: "runs/cache/noise-level")
            .appendingPathComponent("\(sha)-\(fileSHA.prefix(16)).json")
        let stats = try SubjectEmbeddingStatistics.cached(at: cache) {
            let facts = try KnownFacts.load(file)
            return try NoiseLevel.subjectEmbeddingStandardDeviation(
                model: lm.model, tokenizer: lm.tokenizer, subjects: facts.map(\.subject))
        }
        return (
            Float(stats.standardDeviation),
            .object([
                ("basis", .string("subject-embeddings")), ("std", .double(stats.standardDeviation)),
                ("subjects", .int(stats.subjects)), ("tokens", .int(stats.tokens)),
                ("source", .string("knowns/known_1000.json")), ("source_sha256", .string(fileSHA)),
            ])
        )
    }
}
