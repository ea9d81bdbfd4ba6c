import Foundation
import LocusData
import LocusInterventions
import LocusModel
import LocusTensor
import LocusTokenizer

/// The held-out text on which side effects are measured: the first `tokensPerDocument` tokens
/// of `documentCount` wikitext articles drawn in a seeded order (articles shorter than that are
/// passed over).
public struct SideEffectSample: Codable, Equatable, Sendable {
    public var source: String
    public var seed: UInt64
    public var titles: [String]
    public var tokens: [[Int]]

    public init(
        documents: [WikiTextDocument], tokenizer: any Tokenizer, count: Int, tokensPerDocument: Int,
        seed: UInt64, source: String
    ) {
        self.source = source
        self.seed = seed
        var titles: [String] = [], tokens: [[Int]] = []
        for i in QuestionSplit.permutation(count: documents.count, seed: seed) where titles.count < count {
            let ids = tokenizer.encodePrompt(documents[i].body)
            guard ids.count >= tokensPerDocument else { continue }
            titles.append(documents[i].title)
            tokens.append(Array(ids.prefix(tokensPerDocument)))
        }
        self.titles = titles
        self.tokens = tokens
    }
}

/// Side effects of an edit on ordinary text, per token (ITI's "CE" and "KL wrt orig"):
///
///     CE  = −(1/N) Σ_t log P_edited(x_{t+1} | x_≤t)             (N = predicted tokens)
///     KL  = (1/M) Σ_t Σ_v P_orig(v | x_≤t) · log(P_orig(v | x_≤t) / P_edited(v | x_≤t))
///
/// over every position t of every document (M positions; CE skips each document's last).
public struct SideEffectMetrics: Codable, Equatable, Sendable {
    public var crossEntropy: Double
    public var klFromOriginal: Double

    /// KL(P ‖ Q) of the softmaxes of two logit rows, directly from the definition (the
    /// evaluator uses an equivalent rearrangement that needs one exponential pass per row).
    public static func klDivergence(originalLogits p: [Float], editedLogits q: [Float]) -> Double {
        precondition(p.count == q.count && !p.isEmpty)
        func logSoftmax(_ x: [Float]) -> [Double] {
            let m = Double(x.max()!)
            let lse = m + log(x.reduce(0.0) { $0 + exp(Double($1) - m) })
            return x.map { Double($0) - lse }
        }
        let lp = logSoftmax(p), lq = logSoftmax(q)
        return zip(lp, lq).reduce(0) { $0 + exp($1.0) * ($1.0 - $1.1) }
    }
}

public final class SideEffectEvaluator {
    public let model: LanguageModel
    public let documentsPerBatch: Int

    public init(model: LanguageModel, documentsPerBatch: Int = 4) {
        self.model = model
        self.documentsPerBatch = max(1, documentsPerBatch)
    }

    public typealias Progress = (Int, Int) -> Void  // documents done, total

    /// The unedited model's CE (its KL is 0 by definition) and each intervention's CE and KL;
    /// the original distributions are computed once per batch and shared by all interventions.
    public func evaluate(
        _ sample: SideEffectSample, interventions: [Intervention], progress: Progress? = nil
    ) throws -> (original: SideEffectMetrics, edited: [SideEffectMetrics]) {
        let v = model.config.vocabularySize
        var originalCE = 0.0, predicted = 0, positions = 0
        var editedCE = [Double](repeating: 0, count: interventions.count)
        var editedKL = editedCE
        var probabilities: [Float] = []  // (rows, V): P_orig
        var start = 0
        while start < sample.tokens.count {
            let batch = Array(sample.tokens[start..<min(start + documentsPerBatch, sample.tokens.count)])
            start += batch.count
            let rows = batch.reduce(0) { $0 + $1.count }
            if probabilities.count < rows * v { probabilities = [Float](repeating: 0, count: rows * v) }
            var negativeEntropy = [Double](repeating: 0, count: rows)  // Σ p log p per row
            do {
                let logits = try model.model.forward(batch, logits: .all)
                var r = 0
                for (s, doc) in batch.enumerated() {
                    for t in 0..<doc.count {
                        let x = logits.row(sequence: s, position: t).baseAddress!
                        let lse = LogSoftmax.logSumExp(x, count: v)
                        var h = 0.0
                        probabilities.withUnsafeMutableBufferPointer { p in
                            let out = p.baseAddress! + r * v
                            for j in 0..<v {
                                let lp = x[j] - lse
                                let pj = Foundation.exp(lp)
                                out[j] = pj
                                h += Double(pj) * Double(lp)
                            }
                        }
                        negativeEntropy[r] = h
                        if t + 1 < doc.count { originalCE -= Double(x[doc[t + 1]] - lse) }
                        r += 1
                    }
                    predicted += doc.count - 1
                }
                positions += rows
            }
            for (k, intervention) in interventions.enumerated() {
                let logits = try model.model.forward(batch, hooks: intervention.hooks(.sideEffects), logits: .all)
                var r = 0
                for (s, doc) in batch.enumerated() {
                    for t in 0..<doc.count {
                        let x = logits.row(sequence: s, position: t).baseAddress!
                        let lse = Double(LogSoftmax.logSumExp(x, count: v))
                        // KL = Σ p log p − Σ p·x_e + lse_e · Σ p
                        var dot = 0.0, mass = 0.0
                        probabilities.withUnsafeBufferPointer { p in
                            let row = p.baseAddress! + r * v
                            for j in 0..<v {
                                dot += Double(row[j]) * Double(x[j])
                                mass += Double(row[j])
                            }
                        }
                        editedKL[k] += negativeEntropy[r] - dot + lse * mass
                        if t + 1 < doc.count { editedCE[k] -= Double(x[doc[t + 1]]) - lse }
                        r += 1
                    }
                }
            }
            progress?(start, sample.tokens.count)
        }
        let n = Double(max(predicted, 1)), m = Double(max(positions, 1))
        return (
            SideEffectMetrics(crossEntropy: originalCE / n, klFromOriginal: 0),
            interventions.indices.map {
                SideEffectMetrics(crossEntropy: editedCE[$0] / n, klFromOriginal: editedKL[$0] / m)
            }
        )
    }
}
