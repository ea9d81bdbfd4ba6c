import Foundation
import LocusData
import LocusEvaluation
import LocusInterventions
import LocusModel
import XCTest

/// The evaluator on SmolLM2-135M-Instruct with a handful of questions.
final class RealModelEvaluationTests: XCTestCase {
    /// A fixed ITI-like edit: a vector added to two heads of layer 10.
    func intervention(_ lm: LanguageModel) -> Intervention {
        let v = (0..<64).map { Float(sin(Double($0))) * 2 }
        return Intervention.standard(name: "test") { positions in
            [
                VectorAddition(site: .headOutput(layer: 10), columnStart: 64, vector: v, positions: positions),
                VectorAddition(site: .headOutput(layer: 10), columnStart: 5 * 64, vector: v, positions: positions),
            ]
        }
    }

    func testPromptTokenizesTheSameInPieces() throws {
        let lm = try EvaluationTestSupport.smolLM()
        let tqa = try EvaluationTestSupport.truthfulQA()
        let prompt = TruthfulQAPrompt()
        XCTAssertTrue(prompt.sharedPrefix.hasPrefix("Interpret each question literally"))
        XCTAssertTrue(prompt.sharedPrefix.hasSuffix("A: The 1992 Olympics were held in Barcelona, Spain."))
        for q in tqa.questions.prefix(20) {
            let answer = q.correctAnswers[0].closedWithPeriod
            let whole = lm.tokenizer.encode(prompt.prompt(q.question) + prompt.answerContinuation(answer))
            let pieces =
                lm.tokenizer.encode(prompt.sharedPrefix) + lm.tokenizer.encode(prompt.questionSuffix(q.question))
                + lm.tokenizer.encode(prompt.answerContinuation(answer))
            XCTAssertEqual(whole, pieces, q.question)
        }
    }

    func testPrefixReuseMatchesScoringWholePrompts() throws {
        let lm = try EvaluationTestSupport.smolLM()
        let tqa = try EvaluationTestSupport.truthfulQA()
        let questions = tqa.questions(ids: [38, 5, 0])
        // Packs 2 questions per group, 7 answers per call: chunks span questions and get filler.
        let evaluator = try MultipleChoiceEvaluator(model: lm, answersPerBatch: 7, questionsPerBatch: 2)
        for edit in [nil, intervention(lm)] {
            let run = try evaluator.evaluate(questions, intervention: edit)
            XCTAssertEqual(run.results.map(\.questionID), [38, 5, 0])
            for (q, result) in zip(questions, run.results) {
                let sets = MultipleChoiceEvaluator.answerSets(q)
                let prompt = lm.tokenizer.encode(TruthfulQAPrompt().prompt(q.question))
                let continuations = (sets.true + sets.false).map { lm.tokenizer.encode(" " + $0) }
                let hooks = edit?.hooks(.multipleChoice(promptLength: prompt.count)) ?? []
                let reference = try lm.model.scoreContinuations(
                    prompt: prompt, continuations: continuations, hooks: hooks)
                let scores = result.trueScores + result.falseScores
                for (a, b) in zip(scores, reference.map(\.total)) {
                    XCTAssertEqual(a, b, accuracy: 2e-3, q.question)
                }
                XCTAssertGreaterThanOrEqual(result.metrics.mc2, 0)
                XCTAssertLessThanOrEqual(result.metrics.mc2, 1)
            }
        }
        // An edit of the prompt tokens too: whole prompts are computed with it.
        let v = (0..<64).map { Float(cos(Double($0))) }
        let everywhere = Intervention(name: "all", editsPrompt: true, positions: [:]) { _ in
            [VectorAddition(site: .headOutput(layer: 4), columnStart: 0, vector: v, positions: .all)]
        }
        let q = questions[0]
        let sets = MultipleChoiceEvaluator.answerSets(q)
        let reference = try lm.model.scoreContinuations(
            prompt: lm.tokenizer.encode(TruthfulQAPrompt().prompt(q.question)),
            continuations: (sets.true + sets.false).map { lm.tokenizer.encode(" " + $0) },
            hooks: everywhere.hooks(.sideEffects))
        let run = try evaluator.evaluate(questions, intervention: everywhere)
        for (a, b) in zip(run.results[0].trueScores + run.results[0].falseScores, reference.map(\.total)) {
            XCTAssertEqual(a, b, accuracy: 2e-3)
        }

        let base = try evaluator.evaluate(questions)
        let edited = try evaluator.evaluate(questions, intervention: intervention(lm))
        XCTAssertNotEqual(base.results[0].falseScores, edited.results[0].falseScores)
        // Packing is only an arrangement: one question per call gives the same scores.
        let single = try MultipleChoiceEvaluator(model: lm, answersPerBatch: 32, questionsPerBatch: 1)
            .evaluate(questions, intervention: intervention(lm))
        for (a, b) in zip(single.results, edited.results) {
            for (x, y) in zip(a.trueScores + a.falseScores, b.trueScores + b.falseScores) {
                XCTAssertEqual(x, y, accuracy: 2e-3)
            }
        }
        XCTAssertLessThan(base.tokens, base.equivalentTokens)
        // A row budget of 12 answer rows per call (RowBudget; the 7B shape's memory) splits the
        // question's answers into several calls: the same scores.
        let narrow = try MultipleChoiceEvaluator(model: lm, answersPerBatch: 32, questionsPerBatch: 1)
        narrow.answerRowLimit = 12
        XCTAssertGreaterThan(RowBudget.rows(config: lm.config), 1000)
        let split = try narrow.evaluate(questions, intervention: intervention(lm))
        for (a, b) in zip(split.results, edited.results) {
            for (x, y) in zip(a.trueScores + a.falseScores, b.trueScores + b.falseScores) {
                XCTAssertEqual(x, y, accuracy: 2e-3)
            }
        }
    }

    func testBatchedGenerationMatchesSingleGreedyRuns() throws {
        let lm = try EvaluationTestSupport.smolLM()
        let tqa = try EvaluationTestSupport.truthfulQA()
        let questions = tqa.questions(ids: [0, 1, 2])
        let evaluator = try GenerationEvaluator(model: lm, maxNewTokens: 16, batchSize: 2)
        let (answers, summary) = try evaluator.evaluate(questions)
        XCTAssertEqual(answers.count, 3)
        for (q, generated) in zip(questions, answers) {
            let prompt = lm.tokenizer.encode(TruthfulQAPrompt().prompt(q.question))
            var produced: [Int] = []
            _ = try lm.model.generateGreedy(prompt: prompt, maxTokens: 16) { token in
                produced.append(token)
            }
            let single = GenerationMetrics.cutAtNextQuestion(lm.tokenizer.decode(produced))
            XCTAssertEqual(generated.answer, single, q.question)
            XCTAssertFalse(generated.answer.contains("Q:"))
        }
        XCTAssertGreaterThanOrEqual(summary.truth, 0)
        XCTAssertEqual(summary.truthTimesInfo, summary.truth * summary.info, accuracy: 1e-12)
    }

    func testSideEffectsMatchTheDefinition() throws {
        let lm = try EvaluationTestSupport.smolLM()
        let docs = try WikiText.load(try EvaluationTestSupport.location().wikiText2("test"))
        let sample = SideEffectSample(
            documents: docs, tokenizer: lm.tokenizer, count: 2, tokensPerDocument: 24, seed: 3,
            source: "test")
        XCTAssertEqual(sample.tokens.map(\.count), [24, 24])
        XCTAssertEqual(
            sample,
            SideEffectSample(documents: docs, tokenizer: lm.tokenizer, count: 2, tokensPerDocument: 24, seed: 3, source: "test"))
        let noOp = Intervention.standard(name: "none") { _ in [] }
        let edit = intervention(lm)
        let evaluator = SideEffectEvaluator(model: lm, documentsPerBatch: 1)
        let (original, edited) = try evaluator.evaluate(sample, interventions: [noOp, edit])
        XCTAssertEqual(edited[0].crossEntropy, original.crossEntropy, accuracy: 1e-6)
        XCTAssertEqual(edited[0].klFromOriginal, 0, accuracy: 1e-5)
        XCTAssertGreaterThan(original.crossEntropy, 1)
        XCTAssertLessThan(original.crossEntropy, 10)

        // Direct computation from both models' logits.
        var kl = 0.0, ce = 0.0
        for doc in sample.tokens {
            let base = try lm.model.forward([doc], logits: .all)
            let baseRows = (0..<doc.count).map { Array(base.row(sequence: 0, position: $0)) }
            let changed = try lm.model.forward([doc], hooks: edit.hooks(.sideEffects), logits: .all)
            for t in 0..<doc.count {
                let row = Array(changed.row(sequence: 0, position: t))
                kl += SideEffectMetrics.klDivergence(originalLogits: baseRows[t], editedLogits: row)
                if t + 1 < doc.count {
                    ce -= Double(changed.logProbability(of: doc[t + 1], sequence: 0, position: t))
                }
            }
        }
        XCTAssertEqual(edited[1].klFromOriginal, kl / 48, accuracy: 1e-4)
        XCTAssertEqual(edited[1].crossEntropy, ce / 46, accuracy: 1e-4)
        XCTAssertGreaterThan(edited[1].klFromOriginal, 1e-3)
    }
}
