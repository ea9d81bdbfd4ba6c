import Foundation

/// One article of a wikitext file.
public struct WikiTextDocument: Equatable, Sendable {
    /// The article title from its ` = Title = ` heading.
    public var title: String
    /// The article's lines after the heading (section headings ` = = … = = ` included), each
    /// trimmed, blank lines dropped, joined with "\n".
    public var body: String

    public init(title: String, body: String) {
        self.title = title
        self.body = body
    }
}

/// Raw wikitext-2 (Merity et al. 2016): articles start with a top-level heading line
/// ` = Title = ` (one "=" on each side; ` = = Section = = ` lines are sections inside an article).
public enum WikiText {
    public static func load(_ url: URL) throws -> [WikiTextDocument] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw DataError(file: url.path, problem: "cannot read: \(error.localizedDescription)")
        }
        let documents = parse(text)
        guard !documents.isEmpty else {
            throw DataError(file: url.path, problem: "no ' = Title = ' article headings found")
        }
        return documents
    }

    /// The title if `line` is a top-level heading.
    public static func title(ofHeading line: Substring) -> String? {
        let t = line.trimmingCharacters(in: .whitespaces)
        guard t.count >= 5, t.hasPrefix("= "), t.hasSuffix(" ="), !t.hasPrefix("= =") else {
            return nil
        }
        let inner = t.dropFirst(2).dropLast(2).trimmingCharacters(in: .whitespaces)
        return inner.isEmpty || inner.hasPrefix("=") || inner.hasSuffix("=") ? nil : inner
    }

    /// Splits text into articles; text before the first heading is dropped.
    public static func parse(_ text: String) -> [WikiTextDocument] {
        var documents: [WikiTextDocument] = []
        var title: String? = nil
        var lines: [String] = []
        func flush() {
            if let title, !lines.isEmpty {
                documents.append(WikiTextDocument(title: title, body: lines.joined(separator: "\n")))
            }
            lines = []
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let t = Self.title(ofHeading: line) {
                flush()
                title = t
                continue
            }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty { lines.append(trimmed) }
        }
        flush()
        return documents
    }
}
