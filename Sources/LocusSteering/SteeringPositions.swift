import LocusInterventions

/// Where a steering edit fires, relative to a (prompt, answer) sequence. Recorded in every
/// steering file, and applied the same way in training, scoring and generation.
public enum SteeringPositions: String, Codable, Sendable, CaseIterable {
    /// Every token.
    case all
    /// The prompt tokens only.
    case prompt
    /// The answer tokens only (in generation: every generated token).
    case answer

    /// The concrete positions for sequences whose prompts have these lengths.
    public func positions(promptLengths: [Int]) -> Positions {
        switch self {
        case .all: .all
        case .prompt: .before(promptLengths)
        case .answer: .from(promptLengths)
        }
    }
}
