import LocusModel

/// One term of an item's metric: w · Σ_{t ∈ targets} log p(tokens[t] | tokens[..<t]) on one of
/// the item's sequences.
public struct MetricTerm: Hashable, Codable, Sendable {
    public var sequence: Int
    public var targets: Range<Int>
    public var weight: Float

    public init(sequence: Int, targets: Range<Int>, weight: Float) {
        self.sequence = sequence
        self.targets = targets
        self.weight = weight
    }
}

/// One input of a scrubbing data set: one or more token sequences that are scored together (e.g.
/// a prompt with a true and with a false answer), the features hypotheses may ask about, and the
/// metric. Mean next-token loss over targets R is one term with weight −1/|R|; a log-prob margin
/// of a true over a false answer is +1 and −1 terms on the answers' tokens.
public struct ScrubItem: Sendable {
    public var sequences: [[Int]]
    /// Named features: data-set columns and "label".
    public var features: [String: String]
    public var metric: [MetricTerm]

    public init(sequences: [[Int]], features: [String: String] = [:], metric: [MetricTerm]) {
        self.sequences = sequences
        self.features = features
        self.metric = metric
    }

    /// The item's metric from the log-probabilities of its sequences, `logProbability(k, t)` =
    /// log p(sequences[k][t] | sequences[k][..<t]).
    public func score(_ logProbability: (Int, Int) -> Float) -> Double {
        var total = 0.0
        for term in metric {
            var sum = 0.0
            for t in term.targets { sum += Double(logProbability(term.sequence, t)) }
            total += Double(term.weight) * sum
        }
        return total
    }

    /// "Lower is better" loss items have negative weights; this is only used for display.
    public var isLoss: Bool { metric.allSatisfy { $0.weight < 0 } }
}

/// What an important component's input must agree on with the current input.
public enum Feature: Hashable, Codable, Sendable, CustomStringConvertible {
    /// The whole input: the component is computed on the current input itself (in place).
    case input
    /// Nothing: any input (but, unlike an unimportant component, its own inputs are still
    /// scrubbed by the hypothesis).
    case nothing
    /// The item's "label" feature.
    case label
    /// A named data-set column (`column:NAME`).
    case column(String)
    /// The token at a position of the first sequence (`token:P`, negative from the end).
    case token(Int)

    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        switch t {
        case "input": self = .input
        case "nothing", "": self = .nothing
        case "label": self = .label
        default:
            if t.hasPrefix("column:") {
                self = .column(String(t.dropFirst(7)))
            } else if t.hasPrefix("token:"), let p = Int(t.dropFirst(6)) {
                self = .token(p)
            } else {
                throw ScrubError("unknown feature '\(text)' (input, nothing, label, column:NAME, token:P)")
            }
        }
    }

    public var description: String {
        switch self {
        case .input: "input"
        case .nothing: "nothing"
        case .label: "label"
        case .column(let name): "column:\(name)"
        case .token(let p): "token:\(p)"
        }
    }

    public init(from decoder: Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    /// The feature's value on an item (`nil` for input/nothing, which need no lookup).
    public func value(of item: ScrubItem) -> String? {
        switch self {
        case .input, .nothing: return nil
        case .label: return item.features["label"] ?? ""
        case .column(let name): return item.features[name] ?? ""
        case .token(let p):
            let s = item.sequences[0]
            let i = p < 0 ? s.count + p : p
            return i >= 0 && i < s.count ? String(s[i]) : ""
        }
    }
}

public struct ScrubError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
