import Foundation
import LocusCore

/// One of ROME's known facts (`knowns/known_1000.json`): a prompt about `subject` that the
/// model completes with `attribute` (for GPT-2 XL; check with the model at hand).
public struct KnownFact: Equatable, Sendable, Codable {
    public var id: Int
    public var subject: String
    /// The expected answer (e.g. "Antarctica"), without a leading space.
    public var attribute: String
    /// The relation's template with "{}" for the subject (e.g. "{} is located in the continent").
    public var template: String
    /// GPT-2 XL's continuation as recorded in the data set.
    public var prediction: String
    /// The full prompt (contains `subject`).
    public var prompt: String
    /// Wikidata relation id (e.g. "P30").
    public var relationID: String

    public init(
        id: Int, subject: String, attribute: String, template: String, prediction: String,
        prompt: String, relationID: String
    ) {
        self.id = id
        self.subject = subject
        self.attribute = attribute
        self.template = template
        self.prediction = prediction
        self.prompt = prompt
        self.relationID = relationID
    }
}

/// Loader for `known_1000.json`.
public enum KnownFacts {
    public static func load(_ url: URL) throws -> [KnownFact] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw DataError(file: url.path, problem: "cannot read: \(error.localizedDescription)")
        }
        return try parse(text, file: url.path)
    }

    public static func parse(_ text: String, file: String) throws -> [KnownFact] {
        try JSONValue.parseDataArray(text, file: file).map { line, value in
            let fields = JSONFields(value: value, file: file, line: line)
            guard let idNumber = value["known_id"]?.number, idNumber == idNumber.rounded() else {
                throw DataError(file: file, line: line, problem: "known_id: expected an integer")
            }
            let fact = KnownFact(
                id: Int(idNumber), subject: try fields.string("subject"),
                attribute: try fields.string("attribute"), template: try fields.string("template"),
                prediction: try fields.string("prediction"), prompt: try fields.string("prompt"),
                relationID: try fields.string("relation_id"))
            guard fact.prompt.contains(fact.subject) else {
                throw DataError(
                    file: file, line: line,
                    problem: "prompt '\(fact.prompt)' does not contain subject '\(fact.subject)'")
            }
            return fact
        }
    }
}
