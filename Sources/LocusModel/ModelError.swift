/// Errors of running a model on bad input. Each says what was wrong and what the limit is.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case emptyBatch
    case emptySequence(index: Int)
    case tokenOutOfRange(token: Int, vocabularySize: Int)
    case contextExceeded(tokens: Int, contextLength: Int)
    case cacheTooSmall(needed: Int, capacity: Int)
    case cacheMismatch(String)
    /// A forward pass produced NaN or ±∞ logits (sequence, absolute position).
    case nonFiniteLogits(sequence: Int, position: Int)
    /// A hook or gradient asked for a site this model does not have.
    case siteUnavailable(site: String, reason: String)

    public var description: String {
        switch self {
        case .emptyBatch: "the batch has no sequences"
        case .emptySequence(let i): "sequence \(i) has no tokens"
        case .tokenOutOfRange(let t, let v): "token id \(t) is outside the vocabulary (0..<\(v))"
        case .contextExceeded(let n, let c):
            "the input needs \(n) positions but the model's context is \(c) tokens"
        case .cacheTooSmall(let n, let c):
            "the input needs \(n) cached positions but the KV cache holds \(c)"
        case .cacheMismatch(let why): "KV cache does not match the batch: \(why)"
        case .siteUnavailable(let site, let reason): "site \(site) does not exist in this model: \(reason)"
        case .nonFiniteLogits(let s, let p):
            "the model computed non-finite logits (NaN or infinity) for sequence \(s) at position"
                + " \(p): an intervention (steering file, hook, edit) or the weights overflowed"
        }
    }
}
