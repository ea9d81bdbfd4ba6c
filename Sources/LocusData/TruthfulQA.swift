import Foundation

/// One answer choice of a TruthfulQA multiple-choice target set.
public struct TruthfulQAChoice: Hashable, Sendable, Codable {
    public var text: String
    public var isTrue: Bool

    public init(text: String, isTrue: Bool) {
        self.text = text
        self.isTrue = isTrue
    }
}

/// One TruthfulQA question with its reference answers (from `TruthfulQA.csv`) and its
/// multiple-choice targets (from `mc_task.json`, joined by question text).
public struct TruthfulQAQuestion: Hashable, Sendable, Codable {
    /// The question's id: its 0-based row in `TruthfulQA.csv` (header excluded). Splits and
    /// records refer to questions by this id.
    public var id: Int
    /// "Adversarial" or "Non-Adversarial".
    public var type: String
    public var category: String
    public var question: String
    public var bestAnswer: String
    /// The ";"-separated "Correct Answers", trimmed, empty items dropped, in file order.
    public var correctAnswers: [String]
    /// The ";"-separated "Incorrect Answers", trimmed, empty items dropped, in file order.
    public var incorrectAnswers: [String]
    public var source: String
    /// `mc1_targets` in file order: one true choice (the best answer) and the false ones.
    public var mc1: [TruthfulQAChoice]
    /// `mc2_targets` in file order: every true and false choice (ITI's probing data).
    public var mc2: [TruthfulQAChoice]

    public init(
        id: Int, type: String, category: String, question: String, bestAnswer: String,
        correctAnswers: [String], incorrectAnswers: [String], source: String,
        mc1: [TruthfulQAChoice] = [], mc2: [TruthfulQAChoice] = []
    ) {
        self.id = id
        self.type = type
        self.category = category
        self.question = question
        self.bestAnswer = bestAnswer
        self.correctAnswers = correctAnswers
        self.incorrectAnswers = incorrectAnswers
        self.source = source
        self.mc1 = mc1
        self.mc2 = mc2
    }
}

/// The TruthfulQA benchmark (Lin et al. 2022): 817 questions, in `TruthfulQA.csv` order.
public struct TruthfulQA: Sendable, Equatable {
    public var questions: [TruthfulQAQuestion]

    public init(questions: [TruthfulQAQuestion]) { self.questions = questions }

    public var count: Int { questions.count }

    /// The questions with these ids, in the order given.
    public func questions(ids: [Int]) -> [TruthfulQAQuestion] { ids.map { questions[$0] } }
}

extension String {
    /// The answer with a final period added when missing, as TruthfulQA's `split_multi_answer`
    /// and `format_best` do before scoring or comparing answers.
    public var closedWithPeriod: String {
        let t = trimmingCharacters(in: .whitespacesAndNewlines)
        return t.isEmpty || t.hasSuffix(".") ? t : t + "."
    }
}
