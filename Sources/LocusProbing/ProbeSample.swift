import LocusData

/// How a (question, answer) pair becomes probe input text. ITI's format is
/// `Q: {question} A: {answer}`; the template is recorded in activation caches and rankings.
public struct ProbePromptFormat: Codable, Equatable, Sendable {
    /// Text with `{question}` and `{answer}` placeholders.
    public var template: String

    public init(template: String) { self.template = template }

    /// Li et al. (2023): `Q: {question} A: {answer}`.
    public static let iti = ProbePromptFormat(template: "Q: {question} A: {answer}")

    public func render(question: String, answer: String) -> String {
        template.replacingOccurrences(of: "{question}", with: question)
            .replacingOccurrences(of: "{answer}", with: answer)
    }
}

/// One probe example: an answer choice of a question, labelled true or false.
public struct ProbeSample: Codable, Equatable, Sendable {
    public var questionID: Int
    /// Index of the choice in the question's `mc2` list.
    public var choice: Int
    public var label: Bool
    public var text: String

    public init(questionID: Int, choice: Int, label: Bool, text: String) {
        self.questionID = questionID
        self.choice = choice
        self.label = label
        self.text = text
    }
}

extension ProbeSample {
    /// Every `mc2` choice of every question (in question-id then choice order): ITI's probing data.
    public static func truthfulQA(
        _ data: TruthfulQA, questionIDs: [Int]? = nil, format: ProbePromptFormat = .iti
    ) -> [ProbeSample] {
        let ids = questionIDs ?? data.questions.map(\.id)
        return ids.flatMap { id in
            let q = data.questions[id]
            return q.mc2.enumerated().map { c, choice in
                ProbeSample(
                    questionID: id, choice: c, label: choice.isTrue,
                    text: format.render(question: q.question, answer: choice.text))
            }
        }
    }

    /// A digest of the samples (texts, labels, question ids) that keys activation caches.
    public static func digest(_ samples: [ProbeSample]) -> String {
        var h = SHA256()
        for s in samples { h.update("\(s.questionID)\t\(s.choice)\t\(s.label ? 1 : 0)\t\(s.text)\n") }
        return h.finalizeHex()
    }
}
