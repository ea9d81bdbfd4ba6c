import LocusData
import LocusTokenizer

/// Automatic counterfactuals for interchange corruption (METHODS.md §6, §8): another known fact
/// of the same template whose subject occupies exactly the same token positions (so the prompts
/// have the same token length and the subject's last token is at the same index) and whose
/// answer has a different first token.
public enum Counterfactuals {
    /// Why a fact got no counterfactual.
    public enum Rejection: String, Sendable, CaseIterable {
        /// The subject could not be aligned with the prompt's tokens.
        case subjectNotAligned = "subject not aligned"
        /// No other fact of the template has the subject at the same token positions.
        case noSameLengthSubject = "no same-template subject of the same token length"
        /// Same-length subjects exist, but every one has the same first answer token.
        case noDifferentAnswer = "no same-length subject with a different answer"
    }

    /// A fact and its counterfactual.
    public struct Pair: Sendable, Equatable {
        public var fact: KnownFact
        public var counterfactual: KnownFact
    }

    /// The tokens that matter for pairing one fact.
    struct Key {
        var tokens: [Int]
        var subject: Range<Int>
        var answer: Int?
    }

    static func key(_ fact: KnownFact, _ tokenizer: any Tokenizer) -> Key? {
        guard let located = try? SubjectTokens(prompt: fact.prompt, subject: fact.subject, tokenizer: tokenizer)
        else { return nil }
        return Key(tokens: located.tokens, subject: located.subject,
                   answer: tokenizer.encodeContinuation(" " + fact.attribute).first)
    }

    /// The first fact of `facts` (in order) that can serve as `fact`'s counterfactual, or why none can.
    public static func find(
        for fact: KnownFact, among facts: [KnownFact], tokenizer: any Tokenizer
    ) -> Result<KnownFact, RejectionError> {
        var cache: [Int: Key?] = [:]
        return find(for: fact, among: facts, tokenizer: tokenizer, cache: &cache)
    }

    static func find(
        for fact: KnownFact, among facts: [KnownFact], tokenizer: any Tokenizer, cache: inout [Int: Key?]
    ) -> Result<KnownFact, RejectionError> {
        func cached(_ f: KnownFact) -> Key? {
            if let k = cache[f.id] { return k }
            let k = key(f, tokenizer)
            cache[f.id] = k
            return k
        }
        guard let mine = cached(fact) else { return .failure(RejectionError(reason: .subjectNotAligned)) }
        var sameLength = false
        for other in facts where other.id != fact.id && other.template == fact.template {
            guard let theirs = cached(other), theirs.tokens.count == mine.tokens.count,
                theirs.subject == mine.subject
            else { continue }
            sameLength = true
            if theirs.answer != mine.answer { return .success(other) }
        }
        return .failure(RejectionError(reason: sameLength ? .noDifferentAnswer : .noSameLengthSubject))
    }

    /// Pairs for up to `limit` facts of `facts` (in order), each with a counterfactual from
    /// `candidates`; facts without one are skipped and counted by reason.
    public static func pairs(
        _ facts: [KnownFact], candidates: [KnownFact], limit: Int, tokenizer: any Tokenizer
    ) -> (pairs: [Pair], skipped: [Rejection: Int]) {
        var cache: [Int: Key?] = [:]
        var pairs: [Pair] = []
        var skipped: [Rejection: Int] = [:]
        for fact in facts where pairs.count < limit {
            switch find(for: fact, among: candidates, tokenizer: tokenizer, cache: &cache) {
            case .success(let other): pairs.append(Pair(fact: fact, counterfactual: other))
            case .failure(let e): skipped[e.reason, default: 0] += 1
            }
        }
        return (pairs, skipped)
    }

    /// "skipped 3 facts (2 no same-template subject …, 1 …)" or nil when none were skipped.
    public static func describe(skipped: [Rejection: Int]) -> String? {
        let total = skipped.values.reduce(0, +)
        guard total > 0 else { return nil }
        let parts = Rejection.allCases.compactMap { r in skipped[r].map { "\($0) \(r.rawValue)" } }
        return "skipped \(total) fact(s) without a counterfactual: " + parts.joined(separator: ", ")
    }

    public struct RejectionError: Error, Sendable, CustomStringConvertible {
        public var reason: Rejection
        public var description: String { reason.rawValue }
    }
}
