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
    }

    /// Reads `.csv` or `.jsonl`/`.json` (JSON Lines). Malformed rows are errors with their line.
    public static func load(_ url: URL, columns: Columns = Columns()) throws -> [PreferencePair] {
        switch url.pathExtension.lowercased() {
        case "csv": return try loadCSV(url, columns: columns)
        case "jsonl", "json", "ndjson": return try loadJSONLines(url, columns: columns)
        default:
            throw DataError(file: url.path, problem: "unknown preference file type (use .csv or .jsonl)")
        }
    }

    static func loadCSV(_ url: URL, columns: Columns) throws -> [PreferencePair] {
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
        return try records.dropFirst().map { record in
            guard record.fields.count == header.fields.count else {
                throw DataError(
                    file: url.path, line: record.line,
                    problem: "\(record.fields.count) fields, header has \(header.fields.count)")
            }
            let key = g.map { record.fields[$0] } ?? record.fields[p]
            let group = groups[key] ?? groups.count
            groups[key] = group
            return try pair(
                prompt: record.fields[p], chosen: record.fields[c], rejected: record.fields[r],
                group: group, file: url.path, line: record.line)
        }
    }

    static func loadJSONLines(_ url: URL, columns: Columns) throws -> [PreferencePair] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
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
            guard let object = try? JSONValue.parse(trimmed, file: url.path), object.fields != nil
            else { throw DataError(file: url.path, line: i + 1, problem: "not a JSON object") }
            func field(_ name: String) throws -> String {
                if let s = object[name]?.string { return s }
                if let n = object[name], n.number != nil { return n.text }
                throw DataError(file: url.path, line: i + 1, problem: "missing string field '\(name)'")
            }
            let prompt = try field(columns.prompt)
            let key = try columns.group.map(field) ?? prompt
            let group = groups[key] ?? groups.count
            groups[key] = group
            pairs.append(
                try pair(
                    prompt: prompt, chosen: try field(columns.chosen),
                    rejected: try field(columns.rejected), group: group, file: url.path, line: i + 1))
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
