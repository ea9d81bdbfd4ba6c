import Foundation
import LocusCore

/// One preference example (x, y⁺, y⁻): a prompt, a preferred and a dispreferred continuation.
/// `group` keeps examples of one source item (e.g. a TruthfulQA question) on one side of a split.
public struct PreferencePair: Hashable, Sendable, Codable {
    public var prompt: String
    public var chosen: String
    public var rejected: String
    public var group: Int

    public init(prompt: String, chosen: String, rejected: String, group: Int) {
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
        self.group = group
    }
}

extension TruthfulQA {
    /// The prompt and answer format the steering pairs use (and record): the prompt
    /// `Q: {question}\nA:` and the answer ` {answer}` (leading space, final period added).
    public static let preferencePromptFormat = "Q: {question}\\nA:"

    /// Every (correct, incorrect) answer pair of each question, Wang & Veitch's preference data:
    /// y⁺ ranges over the "Correct Answers", y⁻ over the "Incorrect Answers".
    ///
    /// With `prompt` (TruthfulQA's MC evaluation prompt), each pair's prompt is that prompt's
    /// per-question part `"\n\nQ: {question}\nA:"` (its shared instruction + primer prefix is the
    /// trainer's, tokenized once) and the answers are its continuations `" {answer}"`, exactly the
    /// text MC evaluation scores; without it, the bare `Q: {question}\nA:` format.
    public func preferencePairs(questionIDs: [Int], prompt template: TruthfulQAPrompt? = nil) -> [PreferencePair] {
        questionIDs.flatMap { id -> [PreferencePair] in
            let q = questions[id]
            let prompt = template?.questionSuffix(q.question) ?? "Q: \(q.question)\nA:"
            func answer(_ a: String) -> String { template?.answerContinuation(a) ?? " " + a }
            return q.correctAnswers.flatMap { good in
                q.incorrectAnswers.map { bad in
                    PreferencePair(
                        prompt: prompt, chosen: answer(good.closedWithPeriod),
                        rejected: answer(bad.closedWithPeriod), group: id)
                }
            }
        }
    }
}

/// A generic preference file: CSV with a header row, or JSON Lines (one object per line).
/// The prompt, chosen and rejected field names are options; the group is the prompt's first
/// line number unless a group field is named (so pairs sharing a prompt can be split together).
///
/// A malformed row (wrong field count, not a JSON object, a missing field, an empty prompt or
/// answer) is an error naming the file and line, unless the caller asks to skip such rows: then
/// it is counted in `Contents.skipped` with its line and problem, and loading goes on. A file
/// whose header lacks a named column is always an error.
public enum PreferenceFile {
    public struct Columns: Sendable, Equatable {
        public var prompt: String
        public var chosen: String
        public var rejected: String
        public var group: String?

        public init(
            prompt: String = "prompt", chosen: String = "chosen", rejected: String = "rejected",
            group: String? = nil
        ) {
            self.prompt = prompt
            self.chosen = chosen
            self.rejected = rejected
            self.group = group
        }

        /// Parses `prompt,chosen,rejected[,group]` (the CLI's `--columns`); nil when malformed.
        public init?(parsing text: String) {
            let names = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard names.count == 3 || names.count == 4, names.allSatisfy({ !$0.isEmpty }) else { return nil }
            self.init(prompt: names[0], chosen: names[1], rejected: names[2], group: names.count == 4 ? names[3] : nil)
        }
    }

    /// A row left out by `load(_:columns:skipInvalidRows:)`.
    public struct SkippedRow: Sendable, Equatable, Codable {
        /// 1-based line where the row starts.
        public var line: Int
        public var problem: String
    }

    /// What a preference file held: its pairs, the rows skipped as malformed, and the sha256 of
    /// the file's bytes (for records).
    public struct Contents: Sendable, Equatable {
        public var pairs: [PreferencePair]
        public var skipped: [SkippedRow]
        public var sha256: String

        /// "N malformed rows skipped (lines a, b, c, …)" for logs; nil when none were.
        public func skippedSummary(file: String, showing count: Int = 5) -> String? {
            guard !skipped.isEmpty else { return nil }
            let lines = skipped.prefix(count).map { String($0.line) }.joined(separator: ", ")
            let more = skipped.count > count ? ", …" : ""
            return "\(file): \(skipped.count) malformed row\(skipped.count == 1 ? "" : "s") skipped "
                + "(line\(skipped.count == 1 ? "" : "s") \(lines)\(more); first: \(skipped[0].problem))"
        }
    }

    /// Reads `.csv` or `.jsonl`/`.json` (JSON Lines). Malformed rows are errors with their line.
    public static func load(_ url: URL, columns: Columns = Columns()) throws -> [PreferencePair] {
        try load(url, columns: columns, skipInvalidRows: false).pairs
    }

    /// Reads `.csv` or `.jsonl`/`.json` (JSON Lines). With `skipInvalidRows` a malformed row is
    /// counted in `skipped` instead of failing the load; a file with no valid row is an error.
    public static func load(_ url: URL, columns: Columns = Columns(), skipInvalidRows: Bool) throws -> Contents {
        let bytes: Data
        do { bytes = try Data(contentsOf: url) } catch {
            throw DataError(file: url.path, problem: "cannot read: \(error.localizedDescription)")
        }
        var skipped: [SkippedRow] = []
        /// Rethrows a row's error, or records it when skipping.
        func row<T>(_ make: () throws -> T) throws -> T? {
            do { return try make() } catch let e as DataError where skipInvalidRows && e.line != nil {
                skipped.append(SkippedRow(line: e.line!, problem: e.problem))
                return nil
            }
        }
        let pairs: [PreferencePair]
        switch url.pathExtension.lowercased() {
        case "csv": pairs = try loadCSV(url, columns: columns, row: row)
        case "jsonl", "json", "ndjson": pairs = try loadJSONLines(url, bytes: bytes, columns: columns, row: row)
        default:
            throw DataError(file: url.path, problem: "unknown preference file type (use .csv or .jsonl)")
        }
        if pairs.isEmpty && !skipped.isEmpty {
            throw DataError(file: url.path, problem: "every row (\(skipped.count)) is malformed; first, line \(skipped[0].line): \(skipped[0].problem)")
        }
        return Contents(pairs: pairs, skipped: skipped, sha256: SHA256.hex(bytes))
    }

    typealias RowGuard = (() throws -> PreferencePair) throws -> PreferencePair?

    static func loadCSV(_ url: URL, columns: Columns, row: RowGuard) throws -> [PreferencePair] {
        let records = try CSVReader.read(url)
        guard let header = records.first else { throw DataError(file: url.path, problem: "empty file") }
        func index(_ name: String) throws -> Int {
            guard let i = header.fields.firstIndex(of: name) else {
                throw DataError(file: url.path, line: header.line, problem: "no column '\(name)'")
            }
            return i
        }
        let p = try index(columns.prompt), c = try index(columns.chosen), r = try index(columns.rejected)
        let g = try columns.group.map(index)
        var groups: [String: Int] = [:]
        return try records.dropFirst().compactMap { record in
            try row {
                guard record.fields.count == header.fields.count else {
                    throw DataError(
                        file: url.path, line: record.line,
                        problem: "\(record.fields.count) fields, header has \(header.fields.count)")
                }
                var made = try pair(
                    prompt: record.fields[p], chosen: record.fields[c], rejected: record.fields[r],
                    group: 0, file: url.path, line: record.line)
                // Groups are numbered over valid rows only, in order of first appearance.
                let key = g.map { record.fields[$0] } ?? record.fields[p]
                made.group = groups[key] ?? groups.count
                groups[key] = made.group
                return made
            }
        }
    }

    static func loadJSONLines(_ url: URL, bytes: Data, columns: Columns, row: RowGuard) throws -> [PreferencePair] {
        guard let text = String(data: bytes, encoding: .utf8) else {
            throw DataError(file: url.path, problem: "cannot read as UTF-8 text")
        }
        var groups: [String: Int] = [:]
        var pairs: [PreferencePair] = []
        // "\r\n" is one Character in Swift, so splitting on "\n" alone would keep a CRLF file
        // as one line: split on both line ends.
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        for (i, line) in lines.enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            let made = try row {
                guard let object = try? JSONValue.parse(trimmed, file: url.path), object.fields != nil
                else { throw DataError(file: url.path, line: i + 1, problem: "not a JSON object") }
                func field(_ name: String) throws -> String {
                    if let s = object[name]?.string { return s }
                    if let n = object[name], n.number != nil { return n.text }
                    throw DataError(file: url.path, line: i + 1, problem: "missing string field '\(name)'")
                }
                let prompt = try field(columns.prompt)
                let key = try columns.group.map(field) ?? prompt
                var made = try pair(
                    prompt: prompt, chosen: try field(columns.chosen),
                    rejected: try field(columns.rejected), group: 0, file: url.path, line: i + 1)
                made.group = groups[key] ?? groups.count
                groups[key] = made.group
                return made
            }
            if let made { pairs.append(made) }
        }
        return pairs
    }

    static func pair(
        prompt: String, chosen: String, rejected: String, group: Int, file: String, line: Int
    ) throws -> PreferencePair {
        guard !prompt.isEmpty else { throw DataError(file: file, line: line, problem: "empty prompt") }
        guard !chosen.isEmpty, !rejected.isEmpty else {
            throw DataError(file: file, line: line, problem: "empty chosen or rejected answer")
        }
        return PreferencePair(prompt: prompt, chosen: chosen, rejected: rejected, group: group)
    }
}
