import Foundation
import LocusCore

/// The first line of an evaluation journal: what must match for its results to be reused.
public struct EvaluationJournalHeader: Codable, Equatable, Sendable {
    /// One compared setting (model sha256, data sha256, every option that changes numbers).
    public struct Field: Codable, Equatable, Sendable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public static let kind = "locus eval truthfulqa journal"
    public var journal: String
    public var version: Int
    /// Compared field by field on resume and merge, in this order.
    public var fingerprint: [Field]
    /// Not compared: when, by what command line, which model file path (its sha256 is compared).
    public var created: String
    public var modelFile: String
    public var arguments: [String]

    /// - Parameter kind: what the journal holds: `Self.kind` (the evaluation's units) or
    ///   `JudgeJournal.kind` (the judges' verdicts); a file of the other kind is refused.
    public init(
        fingerprint: [Field], modelFile: String, arguments: [String], created: Date = Date(), kind: String = Self.kind
    ) {
        journal = kind
        version = 1
        self.fingerprint = fingerprint
        self.modelFile = modelFile
        self.arguments = arguments
        self.created = ISO8601DateFormatter().string(from: created)
    }

    public func value(_ name: String) -> String? { fingerprint.first { $0.name == name }?.value }

    /// Throws, naming the first field that differs, unless `recorded` matches `self` (the
    /// expected header) on every field but `ignoring`.
    public func check(_ recorded: EvaluationJournalHeader, file: String, ignoring: Set<String> = []) throws {
        guard recorded.journal == journal, recorded.version == version else {
            throw EvaluationJournalError(
                file: file, problem: "line 1 is a \(recorded.journal) version \(recorded.version) header, not \(journal) version \(version)")
        }
        for field in fingerprint where !ignoring.contains(field.name) {
            let was = recorded.value(field.name)
            guard was == field.value else {
                throw EvaluationJournalError(
                    file: file,
                    problem: "was written with \(field.name) = \(was ?? "(absent)"), this run has \(field.name) = \(field.value): "
                        + "its results cannot be reused; rerun with the settings it was written with "
                        + "(its command line: \(recorded.arguments.joined(separator: " "))), or give another journal file")
            }
        }
        if let extra = recorded.fingerprint.first(where: { f in
            !ignoring.contains(f.name) && !fingerprint.contains { $0.name == f.name }
        }) {
            throw EvaluationJournalError(
                file: file, problem: "records a setting this version does not know (\(extra.name) = \(extra.value))")
        }
    }
}

/// One finished unit (`EvaluationPlan.Unit`) of a journaled evaluation: one JSON line with each
/// of its questions' results.
public struct EvaluationJournalEntry: Codable, Equatable, Sendable {
    public var group: Int
    public var questions: [Int]
    /// The unit's MC scores (per question: MC1/2/3 and every answer's log-probability).
    public var multipleChoice: MultipleChoiceRun?
    /// The unit's generated answers with their substitute truth/info verdicts.
    public var generation: [GeneratedAnswer]?
    public var generationSummary: GenerationSummary?
    public var finished: String

    public init(
        group: Int, questions: [Int], multipleChoice: MultipleChoiceRun?, generation: [GeneratedAnswer]?,
        generationSummary: GenerationSummary?, finished: Date = Date()
    ) {
        self.group = group
        self.questions = questions
        self.multipleChoice = multipleChoice
        self.generation = generation
        self.generationSummary = generationSummary
        self.finished = ISO8601DateFormatter().string(from: finished)
    }
}

/// An append-only journal of a TruthfulQA evaluation (`locus eval truthfulqa --journal`): a
/// header line (`EvaluationJournalHeader`) and one line per finished unit, each written whole
/// and fsynced (`AppendOnlyLines`); a torn last line left by a kill is cut on opening and its
/// unit done again. Numbers are written in Swift's shortest round-trip form, so results read
/// back are bit-identical to those computed.
public final class EvaluationJournal {
    public let url: URL
    private let file: AppendOnlyLines
    public private(set) var entries: [EvaluationJournalEntry]
    /// Bytes of a torn last line cut on opening.
    public var repairedBytes: Int { file.repairedBytes }
    /// Whether the file was new (or empty) and got its header now.
    public let started: Bool

    /// Opens or creates the journal at `url`; an existing one must have been written with
    /// `header`'s fingerprint.
    public init(url: URL, header: EvaluationJournalHeader) throws {
        self.url = url
        do { file = try AppendOnlyLines(url: url, purpose: "locus eval truthfulqa --journal") } catch let e as AppendOnlyLinesError {
            throw EvaluationJournalError(file: e.file, problem: e.problem)
        }
        if file.lines.isEmpty {
            try file.append(Self.encode(header))
            entries = []
            started = true
        } else {
            let (recorded, entries) = try Self.parse(file.lines, file: url.path)
            try header.check(recorded, file: url.path)
            self.entries = entries
            started = false
        }
    }

    public func append(_ entry: EvaluationJournalEntry) throws {
        try file.append(Self.encode(entry))
        entries.append(entry)
    }

    /// A journal's header and entries, read without locking or repairing it (a torn last line
    /// is left out): for merging shards.
    public static func read(_ url: URL) throws -> (header: EvaluationJournalHeader, entries: [EvaluationJournalEntry]) {
        let lines: [AppendOnlyLines.Line]
        do { lines = try AppendOnlyLines.read(url) } catch let e as AppendOnlyLinesError {
            throw EvaluationJournalError(file: e.file, problem: e.problem)
        }
        guard !lines.isEmpty else { throw EvaluationJournalError(file: url.path, problem: "is empty (no header line)") }
        return try parse(lines, file: url.path)
    }

    static func parse(_ lines: [AppendOnlyLines.Line], file: String) throws
        -> (EvaluationJournalHeader, [EvaluationJournalEntry])
    {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let header = try? decoder.decode(EvaluationJournalHeader.self, from: Data(lines[0].text.utf8)) else {
            throw EvaluationJournalError(
                file: file, problem: "line \(lines[0].number) is not a locus eval truthfulqa journal header: not a journal (or another file given as one)")
        }
        var entries: [EvaluationJournalEntry] = []
        for line in lines.dropFirst() {
            do { entries.append(try decoder.decode(EvaluationJournalEntry.self, from: Data(line.text.utf8))) } catch {
                throw EvaluationJournalError(
                    file: file,
                    problem: "line \(line.number) is a complete line but not a journal entry (\(error)); the file is damaged: "
                        + "nothing was changed — move it away to start over, or delete that line to redo its unit")
            }
        }
        return (header, entries)
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// A journal that cannot be used, naming the file.
public struct EvaluationJournalError: Error, CustomStringConvertible {
    public var file: String
    public var problem: String
    public var description: String { "journal \(file) \(problem)" }

    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }
}
