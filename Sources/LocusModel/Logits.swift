import LocusTensor

/// Logits of a forward call: one row of V values per requested position.
public struct Logits: @unchecked Sendable {
    public enum Rows: Sendable {
        /// Every position of every sequence (prefill scoring).
        case all
        /// The last position of each sequence (generation).
        case last
        /// No logits (activation collection only).
        case none
    }

    let buffer: FloatBuffer
    public let vocabularySize: Int
    public let rows: Rows
    /// The spans of the forward call; with `.last`, sequence s's row is s.
    public let sequences: [SequenceSpan]

    /// Logits of sequence `s` at its absolute position `position` (only rows that were computed).
    public func row(sequence s: Int, position: Int) -> UnsafeBufferPointer<Float> {
        let span = sequences[s]
        let r: Int
        switch rows {
        case .all:
            guard let found = span.row(ofPosition: position) else {
                preconditionFailure("position \(position) of sequence \(s) not in this call")
            }
            r = found
        case .last:
            precondition(position == span.firstPosition + span.rowCount - 1, "only last rows kept")
            r = s
        case .none: preconditionFailure("no logits were requested")
        }
        return UnsafeBufferPointer(start: buffer.pointer + r * vocabularySize, count: vocabularySize)
    }

    /// Logits at the last position of sequence `s`.
    public func last(sequence s: Int) -> UnsafeBufferPointer<Float> {
        let span = sequences[s]
        return row(sequence: s, position: span.firstPosition + span.rowCount - 1)
    }

    /// log p(token | prefix) at position `position` of sequence `s`.
    public func logProbability(of token: Int, sequence s: Int, position: Int) -> Float {
        let r = row(sequence: s, position: position)
        return LogSoftmax.logProbability(of: token, in: r.baseAddress!, count: vocabularySize)
    }
}

extension Logits {
    /// Throws `ModelError.nonFiniteLogits` naming the first row with a NaN or ±∞. Every forward
    /// call checks (one vectorised pass over the N×V logits, under 1% of the forward), so no
    /// caller ever scores, samples or prints a NaN logit.
    func checkFinite() throws {
        let count: Int
        switch rows {
        case .none: return
        case .all: count = (sequences.last.map { $0.rowStart + $0.rowCount } ?? 0)
        case .last: count = sequences.count
        }
        let values = UnsafeBufferPointer(start: buffer.pointer, count: count * vocabularySize)
        guard let bad = FiniteCheck.firstNonFinite(values) else { return }
        let row = bad / vocabularySize
        switch rows {
        case .last:
            let span = sequences[row]
            throw ModelError.nonFiniteLogits(
                sequence: row, position: span.firstPosition + span.rowCount - 1)
        default:
            let s = sequences.firstIndex { row < $0.rowStart + $0.rowCount } ?? 0
            throw ModelError.nonFiniteLogits(
                sequence: s, position: sequences[s].firstPosition + row - sequences[s].rowStart)
        }
    }
}
