import Foundation
import LocusCore

extension TruthfulQA {
    /// The CSV columns Locus reads (others are ignored); all must be present in the header.
    public static let requiredColumns = [
        "Type", "Category", "Question", "Best Answer", "Correct Answers", "Incorrect Answers",
        "Source",
    ]

    /// Loads the questions from `TruthfulQA.csv` and, when given, joins the multiple-choice
    /// targets of `mc_task.json` by question text (compared after trimming white space: one CSV
    /// question ends with a space).
    ///
    /// Every CSV row must have the header's field count, a question, a best answer and at least
    /// one correct and one incorrect answer; every `mc_task.json` item must match exactly one CSV
    /// question, and every CSV question must have an item. Violations throw `DataError` with the
    /// file and line.
    public static func load(csv: URL, multipleChoice: URL? = nil) throws -> TruthfulQA {
        var questions = try loadCSV(csv)
        if let multipleChoice { try joinMultipleChoice(multipleChoice, into: &questions) }
        return TruthfulQA(questions: questions)
    }

    /// Both files from a data folder.
    public static func load(from location: DataLocation) throws -> TruthfulQA {
        try load(csv: location.truthfulQACSV, multipleChoice: location.truthfulQAMultipleChoice)
    }

    static func loadCSV(_ url: URL) throws -> [TruthfulQAQuestion] {
        let records = try CSVReader.read(url)
        guard let header = records.first else {
            throw DataError(file: url.path, line: 1, problem: "empty file: no header row")
        }
        var column: [String: Int] = [:]
        for (i, name) in header.fields.enumerated() {
            column[name.trimmingCharacters(in: .whitespaces)] = i
        }
        let missing = requiredColumns.filter { column[$0] == nil }
        guard missing.isEmpty else {
            throw DataError(
                file: url.path, line: header.line,
                problem: "header lacks column(s) \(missing.joined(separator: ", "))")
        }
        var questions: [TruthfulQAQuestion] = []
        for record in records.dropFirst() {
            func fail(_ why: String) -> DataError {
                DataError(file: url.path, line: record.line, problem: why)
            }
            guard record.fields.count == header.fields.count else {
                throw fail(
                    "row has \(record.fields.count) fields, the header has \(header.fields.count)")
            }
            func field(_ name: String) -> String {
                record.fields[column[name]!].trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let question = field("Question")
            let best = field("Best Answer")
            let correct = splitAnswers(field("Correct Answers"))
            let incorrect = splitAnswers(field("Incorrect Answers"))
            guard !question.isEmpty else { throw fail("empty Question") }
            guard !best.isEmpty else { throw fail("empty Best Answer") }
            guard !correct.isEmpty else { throw fail("no Correct Answers") }
            guard !incorrect.isEmpty else { throw fail("no Incorrect Answers") }
            questions.append(
                TruthfulQAQuestion(
                    id: questions.count, type: field("Type"), category: field("Category"),
                    question: question, bestAnswer: best, correctAnswers: correct,
                    incorrectAnswers: incorrect, source: field("Source")))
        }
        return questions
    }

    /// Splits a ";"-separated answer list, trimming each item and dropping empty ones.
    public static func splitAnswers(_ list: String) -> [String] {
        list.split(separator: ";", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }
    }

    static func joinMultipleChoice(_ url: URL, into questions: inout [TruthfulQAQuestion]) throws {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw DataError(file: url.path, problem: "cannot read: \(error.localizedDescription)")
        }
        let items = try JSONValue.parseDataArray(text, file: url.path)
        var byText: [String: Int] = [:]
        for q in questions { byText[q.question] = q.id }
        var seen = Set<Int>()
        for (n, item) in items.enumerated() {
            func fail(_ why: String) -> DataError {
                DataError(file: url.path, line: item.line, problem: "item \(n): \(why)")
            }
            guard let raw = item.value["question"]?.string else { throw fail("no \"question\" string") }
            let question = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard let id = byText[question] else {
                throw fail("question \"\(question)\" is not in the CSV")
            }
            guard seen.insert(id).inserted else { throw fail("question \"\(question)\" repeats") }
            func targets(_ key: String) throws -> [TruthfulQAChoice] {
                guard let fields = item.value[key]?.fields, !fields.isEmpty else {
                    throw fail("no \"\(key)\" object")
                }
                return try fields.map { field in
                    guard let label = field.value.number, label == 0 || label == 1 else {
                        throw fail("\(key) label of \"\(field.key)\" is not 0 or 1")
                    }
                    return TruthfulQAChoice(text: field.key, isTrue: label == 1)
                }
            }
            let mc1 = try targets("mc1_targets"), mc2 = try targets("mc2_targets")
            guard mc1.filter(\.isTrue).count == 1 else { throw fail("mc1_targets needs one true answer") }
            guard mc2.contains(where: \.isTrue), mc2.contains(where: { !$0.isTrue }) else {
                throw fail("mc2_targets needs true and false answers")
            }
            questions[id].mc1 = mc1
            questions[id].mc2 = mc2
        }
        if let lacking = questions.first(where: { !seen.contains($0.id) }) {
            throw DataError(
                file: url.path,
                problem: "no item for CSV question \(lacking.id): \"\(lacking.question)\"")
        }
    }
}
