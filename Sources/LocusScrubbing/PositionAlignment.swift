/// How a target position maps to a position of a source input of a different length when an
/// activation is copied across inputs (resample ablation, scrubbing).
///
/// With lengths T (target) and S (source):
/// - `start`: position p reads source position min(p, S − 1) (left-aligned; a target longer than
///   its source reuses the source's last position).
/// - `end`: position p reads source position clamp(p − (T − S), 0, S − 1) (right-aligned: the
///   last tokens line up, e.g. the answer of a prompt).
/// Equal lengths make both the identity.
public enum PositionAlignment: String, Codable, Sendable, CaseIterable {
    case start
    case end

    public func sourcePosition(_ p: Int, targetLength t: Int, sourceLength s: Int) -> Int {
        switch self {
        case .start: return min(p, s - 1)
        case .end: return min(max(p - (t - s), 0), s - 1)
        }
    }
}
