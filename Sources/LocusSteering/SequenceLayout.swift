import LocusModel

/// The sequences of one training or scoring batch, built a prompt at a time: a prompt x is one
/// sequence predicting its answers' first tokens at its last row; each answer y (without its last
/// token, which predicts nothing) is a sequence continuing x's keys and values. Positions are
/// absolute (from the shared prefix's first token). Used by the per-pair layout
/// (`SteeringTrainer.layout(_:)`) and the distinct-answer layout (`layout(groups:)`).
struct SequenceLayout {
    var tokens: [[Int]] = []
    var targets: [TokenTarget] = []
    /// Absolute prompt length (shared prefix + prompt) of each sequence.
    var prompts: [Int] = []
    /// The sequence whose cache each sequence continues (nil: a prompt, which starts fresh).
    var continuing: [Int?] = []

    /// Appends a prompt sequence (`lead` + `prompt`) and returns its index.
    mutating func appendPrompt(_ prompt: [Int], lead: [Int], promptLength: Int) -> Int {
        tokens.append(lead + prompt)
        prompts.append(promptLength)
        continuing.append(nil)
        return tokens.count - 1
    }

    /// Appends `answer` continuing prompt sequence `x` and returns the range of its targets:
    /// y₁ read at x's last row, y₂… at the answer sequence's rows.
    mutating func appendAnswer(_ answer: [Int], continuing x: Int, promptLength: Int) -> Range<Int> {
        let first = targets.count
        targets.append(TokenTarget(sequence: x, position: promptLength - 1, token: answer[0]))
        if answer.count > 1 {
            let s = tokens.count
            tokens.append(Array(answer.dropLast()))
            prompts.append(promptLength)
            continuing.append(x)
            for (i, token) in answer.enumerated().dropFirst() {
                targets.append(TokenTarget(sequence: s, position: promptLength - 1 + i, token: token))
            }
        }
        return first..<targets.count
    }
}
