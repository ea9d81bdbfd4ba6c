import Foundation

/// Sentence-level BLEU and ROUGE-L, written out so the offline truth substitute needs no Python.
///
/// They follow the packages TruthfulQA calls (sacrebleu through t5's `bleu`, Google's
/// `rouge_score`) closely but not bit for bit: no Porter stemming in ROUGE, and BLEU uses the
/// effective n-gram order for short hypotheses (so a 3-word answer is not scored 0).
public enum TextSimilarity {
    /// BLEU tokens: case kept, punctuation split from words (sacrebleu's 13a/intl idea).
    public static func bleuTokens(_ text: String) -> [String] {
        var tokens: [String] = []
        var word = ""
        for ch in text {
            if ch.isLetter || ch.isNumber {
                word.append(ch)
            } else {
                if !word.isEmpty { tokens.append(word); word = "" }
                if !ch.isWhitespace { tokens.append(String(ch)) }
            }
        }
        if !word.isEmpty { tokens.append(word) }
        return tokens
    }

    /// ROUGE tokens: lower-cased runs of letters and digits (rouge_score's tokenizer without the
    /// stemmer).
    public static func rougeTokens(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }

    /// Sentence BLEU (Papineni et al. 2002) of `hypothesis` against one `reference`, in [0, 1]:
    ///
    ///     BLEU = BP · exp( (1/N) Σ_{n=1..N} log p_n ),   BP = min(1, e^{1 − r/c})
    ///
    /// with p_n the clipped n-gram precision, N = min(4, c) the effective order, and NIST
    /// "exp" smoothing for zero matches: the k-th order with no match gets p_n = 1/(2^k · total_n)
    /// (sacrebleu's `smooth_method="exp"`). c, r = hypothesis and reference lengths.
    public static func bleu(hypothesis: String, reference: String, maxOrder: Int = 4) -> Double {
        bleu(hypothesisTokens: bleuTokens(hypothesis), referenceTokens: bleuTokens(reference),
             maxOrder: maxOrder)
    }

    public static func bleu(hypothesisTokens h: [String], referenceTokens r: [String], maxOrder: Int = 4) -> Double {
        guard !h.isEmpty, !r.isEmpty else { return 0 }
        let order = min(maxOrder, h.count)
        var logSum = 0.0
        var smoothing = 1.0
        for n in 1...order {
            let hyp = ngrams(h, n), ref = ngrams(r, n)
            let total = h.count - n + 1
            var matches = 0
            for (gram, count) in hyp { matches += min(count, ref[gram] ?? 0) }
            let precision: Double
            if matches == 0 {
                smoothing *= 2
                precision = 1 / (smoothing * Double(total))
            } else {
                precision = Double(matches) / Double(total)
            }
            logSum += log(precision)
        }
        let brevity = h.count >= r.count ? 1 : exp(1 - Double(r.count) / Double(h.count))
        return brevity * exp(logSum / Double(order))
    }

    static func ngrams(_ tokens: [String], _ n: Int) -> [[String]: Int] {
        var counts: [[String]: Int] = [:]
        guard tokens.count >= n else { return counts }
        for i in 0...(tokens.count - n) { counts[Array(tokens[i..<(i + n)]), default: 0] += 1 }
        return counts
    }

    /// Length of the longest common subsequence.
    public static func lcsLength(_ a: [String], _ b: [String]) -> Int {
        guard !a.isEmpty, !b.isEmpty else { return 0 }
        var previous = [Int](repeating: 0, count: b.count + 1)
        var current = previous
        for i in 1...a.count {
            for j in 1...b.count {
                current[j] = a[i - 1] == b[j - 1] ? previous[j - 1] + 1 : max(previous[j], current[j - 1])
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// ROUGE-L F-measure (Lin 2004) in [0, 1]: P = LCS/|hyp|, R = LCS/|ref|, F = 2PR/(P + R).
    public static func rougeL(hypothesis: String, reference: String) -> Double {
        let h = rougeTokens(hypothesis), r = rougeTokens(reference)
        let lcs = Double(lcsLength(h, r))
        guard lcs > 0 else { return 0 }
        let p = lcs / Double(h.count), rc = lcs / Double(r.count)
        return 2 * p * rc / (p + rc)
    }
}
