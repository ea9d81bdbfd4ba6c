import LocusInterventions

/// Where a steering edit fires, relative to a sequence `{shared prefix}{prompt}{answer}`
/// (`SteeringPromptTemplate`). Recorded in every steering file, and applied by one rule,
/// `positions(prefixLength:promptLengths:)`, in training, scoring and generation.
///
/// The default, `afterPrefix`, is chosen so that evaluation never edits a token training never
/// edited (issue 11, item 4): training edits the question and answer tokens of every pair;
/// MC scoring edits the question and answer tokens of the same sequences (the same token ids,
/// the same absolute positions); generation edits the question and every generated token. The
/// instruction and primer are never edited, so their keys and values are computed once.
/// `all` (the default before issue 11) also edits the primer at evaluation time, which the bare
/// template never trained on.
public enum SteeringPositions: String, Codable, Sendable, CaseIterable {
    /// Every token after the shared prefix: question and answer (with the bare template, which
    /// has no shared prefix, every token). The default.
    case afterPrefix = "after-prefix"
    /// Every token, the shared prefix included.
    case all
    /// The prompt tokens only (shared prefix and question).
    case prompt
    /// The answer tokens only (in generation: every generated token). The first answer token's
    /// prediction, made at the prompt's last token, is unedited.
    case answer

    /// The concrete positions (absolute) for sequences whose shared prefix has `prefixLength`
    /// tokens and whose prompts (shared prefix + question part) have these lengths.
    public func positions(prefixLength: Int, promptLengths: [Int]) -> Positions {
        switch self {
        case .afterPrefix: prefixLength > 0 ? .from([prefixLength]) : .all
        case .all: .all
        case .prompt: .before(promptLengths)
        case .answer: .from(promptLengths)
        }
    }

    /// Whether the edit touches the shared prefix (then its keys and values cannot be computed
    /// once, unedited, and reused).
    public var editsSharedPrefix: Bool { self == .all || self == .prompt }

    /// Where the edit fires, for records.
    public var description: String {
        switch self {
        case .afterPrefix: "every token after the shared instruction + primer prefix (question and answer tokens; in generation the question and every generated token)"
        case .all: "every token, the instruction and primer included"
        case .prompt: "the prompt tokens (instruction, primer and question), not the answer"
        case .answer: "the answer tokens (in generation every generated token); the prompt unedited"
        }
    }
}
