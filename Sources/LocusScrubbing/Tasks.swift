import LocusData
import LocusTensor
import LocusTokenizer

/// Repeated random token sequences: [BOS] r r with r = n tokens drawn uniformly (seeded) from
/// `tokenRange`. The metric is the mean next-token loss on the second repeat after its first
/// token (positions whose token the first repeat predicts), i.e. targets t ∈ [o + n + 1, o + 2n)
/// with o = 1 if a BOS is prepended; the weight −1/(n − 1) makes the score that mean loss
/// (nats). Feature `first`: the first token of r.
public enum InductionTask {
    public static func items(
        count: Int, length n: Int, seed: UInt64, tokenRange: Range<Int>, bos: Int?
    ) -> [ScrubItem] {
        var g = SeededGenerator(seed: seed)
        let o = bos == nil ? 0 : 1
        return (0..<count).map { _ in
            let r = (0..<n).map { _ in tokenRange.lowerBound + Int(g.next() % UInt64(tokenRange.count)) }
            let tokens = (bos.map { [$0] } ?? []) + r + r
            let targets = (o + n + 1)..<(o + 2 * n)
            return ScrubItem(
                sequences: [tokens], features: ["first": String(r[0])],
                metric: [MetricTerm(sequence: 0, targets: targets, weight: -1 / Float(targets.count))])
        }
    }
}

/// TruthfulQA multiple-choice preference as a scrubbing data set: per question, the prompt
/// `Q: {question}\nA:` followed by the best answer (sequence 0) and by the first incorrect answer
/// (sequence 1), scored by the log-prob margin Σ log p(true answer) − Σ log p(false answer)
/// (sums over answer tokens, TruthfulQA's own MC scoring without the few-shot preset). Features:
/// `category`, `type` (data-set columns).
public enum TruthfulQATask {
    /// The prompt is encoded as a model input (`encodePrompt`: BOS where the checkpoint adds
    /// one), the answers as its continuations.
    public static func items(
        questions: [TruthfulQAQuestion], tokenizer: any Tokenizer
    ) -> [ScrubItem] {
        questions.compactMap { q in
            guard let wrong = q.incorrectAnswers.first else { return nil }
            let prompt = tokenizer.encodePrompt("Q: \(q.question)\nA:")
            let t = tokenizer.encodeContinuation(" " + q.bestAnswer)
            let f = tokenizer.encodeContinuation(" " + wrong)
            guard !t.isEmpty, !f.isEmpty else { return nil }
            let p = prompt.count
            return ScrubItem(
                sequences: [prompt + t, prompt + f],
                features: ["category": q.category, "type": q.type],
                metric: [
                    MetricTerm(sequence: 0, targets: p..<(p + t.count), weight: 1),
                    MetricTerm(sequence: 1, targets: p..<(p + f.count), weight: -1),
                ])
        }
    }
}
