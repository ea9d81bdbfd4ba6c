import LocusModel

/// Which token positions of a sequence an intervention touches. Positions are absolute (0 is the
/// first token of the sequence, counting tokens already in a KV cache).
public enum Positions: Codable, Equatable, Sendable {
    /// Every position computed in the call.
    case all
    /// The last position computed in the call (the position that predicts the next token).
    case last
    /// Explicit absolute positions, the same for every sequence.
    case indices([Int])
    /// Positions `from ..< sequence end`, e.g. the answer tokens after a prompt of that length;
    /// one start per sequence.
    case from([Int])
    /// Positions `0 ..< bound`, e.g. the prompt tokens before an answer; one bound per sequence.
    case before([Int])

    /// The rows of `span` (sequence number `sequence`) that this selection covers.
    public func rows(of span: SequenceSpan, sequence: Int) -> [Int] {
        let first = span.firstPosition, end = span.firstPosition + span.rowCount
        switch self {
        case .all: return Array(span.rowStart..<(span.rowStart + span.rowCount))
        case .last: return [span.rowStart + span.rowCount - 1]
        case .indices(let positions):
            return positions.compactMap { span.row(ofPosition: $0) }
        case .from(let starts):
            let start = max(starts[min(sequence, starts.count - 1)], first)
            return start < end ? Array((span.rowStart + start - first)..<(span.rowStart + span.rowCount)) : []
        case .before(let bounds):
            let bound = min(bounds[min(sequence, bounds.count - 1)], end)
            return bound > first ? Array(span.rowStart..<(span.rowStart + bound - first)) : []
        }
    }
}
