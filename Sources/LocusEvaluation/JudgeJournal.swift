import Foundation
import LocusCore

/// One judged batch of a journaled judge phase: the verdicts of answers `start…start+n−1` (in
/// the order `JudgePair.judge` receives them) by one judge.
public struct JudgeJournalEntry: Codable, Equatable, Sendable {
    public var judge: String
    public var start: Int
    public var verdicts: [JudgeVerdict]
    public var finished: String

    public init(judge: TruthfulQAJudge.Kind, start: Int, verdicts: [JudgeVerdict], finished: Date = Date()) {
        self.judge = judge.rawValue
        self.start = start
        self.verdicts = verdicts
        self.finished = ISO8601DateFormatter().string(from: finished)
    }
}

/// The append-only journal of the judges' phase (`locus eval truthfulqa --journal … --truth-judge
/// … --info-judge …`): the judges run after every answer is generated (a 7B judge is not loaded
/// beside the evaluated model), one at a time, and each packed batch of verdicts is one fsynced
/// line, so a killed judge phase resumes at the next batch. The header fingerprints both judges'
/// sha256, the judged answers' sha256, the batch size and the numerics; verdicts are written in
/// Swift's shortest round-trip form, so a resumed phase's numbers are an uninterrupted one's
/// (batches are packed identically: the same answers in the same chunks).
public final class JudgeJournal {
    public static let kind = "locus eval truthfulqa judge journal"
    public let url: URL
    private let file: AppendOnlyLines
    /// The verdicts recorded so far, per judge, in answer order (each a prefix of the answers).
    public private(set) var verdicts: [TruthfulQAJudge.Kind: [JudgeVerdict]] = [:]

    public init(url: URL, header: EvaluationJournalHeader) throws {
        precondition(header.journal == Self.kind)
        self.url = url
        do { file = try AppendOnlyLines(url: url, purpose: "locus eval truthfulqa judge journal") } catch let e as AppendOnlyLinesError {
            throw EvaluationJournalError(file: e.file, problem: e.problem)
        }
        guard let first = file.lines.first else {
            try file.append(EvaluationJournal.encode(header))
            return
        }
        let decoder = JSONDecoder()
        guard let recorded = try? decoder.decode(EvaluationJournalHeader.self, from: first.bytes) else {
            throw EvaluationJournalError(file: url.path, problem: "line \(first.number) is not a judge journal header")
        }
        try header.check(recorded, file: url.path)
        for line in file.lines.dropFirst() {
            guard let entry = try? decoder.decode(JudgeJournalEntry.self, from: line.bytes),
                  let judge = TruthfulQAJudge.Kind(rawValue: entry.judge)
            else {
                throw EvaluationJournalError(
                    file: url.path,
                    problem: "line \(line.number) is a complete line but not a judge journal entry; the file is damaged: "
                        + "nothing was changed — move it away to judge again")
            }
            let known = verdicts[judge, default: []].count
            guard entry.start == known else {
                throw EvaluationJournalError(
                    file: url.path,
                    problem: "line \(line.number) starts the \(judge.rawValue) judge's verdicts at answer \(entry.start), "
                        + "but \(known) were recorded before it: the file is damaged (batches must follow each other)")
            }
            verdicts[judge, default: []] += entry.verdicts
        }
    }

    /// Records one judged batch (fsynced before returning).
    public func append(_ judge: TruthfulQAJudge.Kind, start: Int, verdicts batch: [JudgeVerdict]) throws {
        precondition(start == verdicts[judge, default: []].count, "judge journal batches must follow each other")
        try file.append(EvaluationJournal.encode(JudgeJournalEntry(judge: judge, start: start, verdicts: batch)))
        verdicts[judge, default: []] += batch
    }
}
