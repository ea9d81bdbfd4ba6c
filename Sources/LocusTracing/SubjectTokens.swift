import LocusModel
import LocusTokenizer

/// The tokens of a prompt and where its subject sits in them.
public struct SubjectTokens: Sendable, Equatable {
    public var tokens: [Int]
    public var subject: Range<Int>

    /// Tokenizes `prompt` and locates the first occurrence of `subject`: the subject starts
    /// after the tokens of the text before it (trailing spaces trimmed, since byte-level BPE
    /// attaches the space to the subject's first token) and ends with the tokens of the text up
    /// to its end (ROME's convention).
    public init(prompt: String, subject: String, tokenizer: any Tokenizer) throws {
        guard let range = prompt.range(of: subject) else {
            throw TraceError("prompt '\(prompt)' does not contain subject '\(subject)'")
        }
        var before = String(prompt[..<range.lowerBound])
        while before.last == " " { before.removeLast() }
        tokens = tokenizer.encodePrompt(prompt)
        // Counts include the BOS `encodePrompt` adds where the checkpoint asks for one.
        let start = tokenizer.encodePrompt(before).count
        let end = tokenizer.encodePrompt(String(prompt[..<range.upperBound])).count
        guard start < end, end <= tokens.count else {
            throw TraceError("cannot align subject '\(subject)' with the tokens of '\(prompt)'")
        }
        self.subject = start..<end
    }
}
