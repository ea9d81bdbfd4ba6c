import Foundation
import LocusCore

/// One CounterFact record (Meng et al. 2022) in the flat form of `counterfact-{edit,train,val}.json`:
/// a fact "prompt → ground truth" about `subject`, the counterfactual `targetNew` to write, one
/// paraphrased prompt and one neighbourhood (locality) prompt whose answer must not change.
public struct CounterFactRecord: Equatable, Sendable, Codable {
    public var caseID: Int
    /// The fact's prompt; contains `subject` verbatim (e.g. "The profession of Arun Nehru is").
    public var prompt: String
    public var subject: String
    /// The counterfactual object o* (e.g. "actor"), without a leading space.
    public var targetNew: String
    /// The true object o (e.g. "politician").
    public var groundTruth: String
    /// A paraphrase of the prompt (generalisation).
    public var rephrasePrompt: String
    /// A prompt about a neighbouring subject with the same true object (specificity).
    public var localityPrompt: String
    public var localityGroundTruth: String

    public init(
        caseID: Int, prompt: String, subject: String, targetNew: String, groundTruth: String,
        rephrasePrompt: String, localityPrompt: String, localityGroundTruth: String
    ) {
        self.caseID = caseID
        self.prompt = prompt
        self.subject = subject
        self.targetNew = targetNew
        self.groundTruth = groundTruth
        self.rephrasePrompt = rephrasePrompt
        self.localityPrompt = localityPrompt
        self.localityGroundTruth = localityGroundTruth
    }
}

/// Loader for the CounterFact JSON arrays.
public enum CounterFact {
    /// Reads every record; a missing or non-string field, or a prompt that does not contain its
    /// subject, is a `DataError` naming the record's line.
    public static func load(_ url: URL) throws -> [CounterFactRecord] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw DataError(file: url.path, problem: "cannot read: \(error.localizedDescription)")
        }
        return try parse(text, file: url.path)
    }

    public static func parse(_ text: String, file: String) throws -> [CounterFactRecord] {
        try JSONValue.parseDataArray(text, file: file).map { line, value in
            let fields = JSONFields(value: value, file: file, line: line)
            guard let idNumber = value["case_id"]?.number, idNumber == idNumber.rounded() else {
                throw DataError(file: file, line: line, problem: "case_id: expected an integer")
            }
            let record = CounterFactRecord(
                caseID: Int(idNumber), prompt: try fields.string("prompt"),
                subject: try fields.string("subject"), targetNew: try fields.string("target_new"),
                groundTruth: try fields.string("ground_truth"),
                rephrasePrompt: try fields.string("rephrase_prompt"),
                localityPrompt: try fields.string("locality_prompt"),
                localityGroundTruth: try fields.string("locality_ground_truth"))
            guard !record.subject.isEmpty, record.prompt.contains(record.subject) else {
                throw DataError(
                    file: file, line: line,
                    problem: "prompt '\(record.prompt)' does not contain subject '\(record.subject)'")
            }
            return record
        }
    }
}

/// Typed access to one object's string fields, with errors naming file and line.
struct JSONFields {
    let value: JSONValue
    let file: String
    let line: Int

    func string(_ key: String) throws -> String {
        guard let field = value[key] else {
            throw DataError(file: file, line: line, problem: "missing field '\(key)'")
        }
        guard let s = field.string else {
            throw DataError(file: file, line: line, problem: "\(key): expected a string")
        }
        return s
    }
}
