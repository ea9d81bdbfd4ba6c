import Foundation

extension TokenizerJSON {
    /// Reads and decodes a tokenizer.json. Errors name the file in one line: "no such file",
    /// "the file cannot be read", or the decoder's key path and reason (never a Cocoa dump).
    /// Token ids are checked before any table is sized by them (`checkIDs`).
    static func decodeChecked(_ url: URL) throws(TokenizerError) -> TokenizerJSON {
        func fail(_ problem: TokenizerError.Problem) -> TokenizerError {
            TokenizerError(file: url.path, problem: problem)
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            let exists = FileManager.default.fileExists(atPath: url.path)
            throw fail(.cannotRead(exists ? "the file cannot be read" : "no such file"))
        }
        let json: TokenizerJSON
        do {
            json = try JSONDecoder().decode(TokenizerJSON.self, from: data)
        } catch {
            throw fail(.cannotRead("not a tokenizer.json: \(brief(error))"))
        }
        try json.checkIDs(fileSize: data.count, source: url.path)
        return json
    }

    /// Every id of `model.vocab` and `added_tokens` must be non-negative and smaller than the
    /// file's size in bytes: each id is written in the file, so a larger one is corrupt, and
    /// the dense id table (`max id + 1` entries) must not be sized by it (an id of 10¹² would
    /// allocate terabytes; Int.max would overflow `max + 1`).
    func checkIDs(fileSize: Int, source: String) throws(TokenizerError) {
        func fail(_ why: String) -> TokenizerError {
            TokenizerError(file: source, problem: .malformed(why))
        }
        if let bad = model.vocab.first(where: { $0.value < 0 || $0.value >= fileSize }) {
            throw fail(bad.value < 0
                ? "token '\(bad.key)' has negative id \(bad.value)"
                : "token id \(bad.value) ('\(bad.key)') is larger than the file (\(fileSize) bytes) can describe")
        }
        if let bad = (addedTokens ?? []).first(where: { $0.id < 0 || $0.id >= fileSize }) {
            throw fail(bad.id < 0
                ? "added token '\(bad.content)' has negative id \(bad.id)"
                : "added token id \(bad.id) ('\(bad.content)') is larger than the file (\(fileSize) bytes) can describe")
        }
    }

    /// A decoding error in one line: the key path and what was wrong.
    static func brief(_ error: any Error) -> String {
        guard let decoding = error as? DecodingError else { return "\(error)" }
        switch decoding {
        case .keyNotFound(let key, let context):
            let path = (context.codingPath + [key]).map(\.stringValue).joined(separator: ".")
            return "required field '\(path)' is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context),
            .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
