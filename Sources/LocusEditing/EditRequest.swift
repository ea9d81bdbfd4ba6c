import LocusModel
import LocusTokenizer

/// One fact to write: in `prompt` (which contains `subject`), the next words become `target`.
public struct EditRequest: Sendable, Equatable, Codable {
    public var prompt: String
    public var subject: String
    /// The new object, without a leading space (a space is prepended when tokenizing).
    public var target: String

    public init(prompt: String, subject: String, target: String) {
        self.prompt = prompt
        self.subject = subject
        self.target = target
    }

    /// Tokens of " target".
    public func targetTokens(_ tokenizer: any Tokenizer) -> [Int] {
        tokenizer.encodeContinuation(" " + target)
    }
}

/// A prompt's tokens and the position of its subject's last token (ROME's `subject_last`):
/// the number of tokens of the text up to the end of the subject, minus one.
public struct SubjectPosition: Sendable, Equatable {
    public var tokens: [Int]
    public var lastSubjectToken: Int

    /// Given ids and position (e.g. from a reference fixture).
    public init(tokens: [Int], lastSubjectToken: Int) {
        precondition(lastSubjectToken >= 0 && lastSubjectToken < tokens.count, "position outside the tokens")
        self.tokens = tokens
        self.lastSubjectToken = lastSubjectToken
    }

    public init(text: String, subject: String, tokenizer: any Tokenizer) throws {
        guard let range = text.range(of: subject) else {
            throw EditError("'\(text)' does not contain subject '\(subject)'")
        }
        tokens = tokenizer.encodePrompt(text)
        lastSubjectToken = tokenizer.encodePrompt(String(text[..<range.upperBound])).count - 1
        guard lastSubjectToken >= 0, lastSubjectToken < tokens.count else {
            throw EditError("cannot align subject '\(subject)' with the tokens of '\(text)'")
        }
    }
}
