import LocusCore
import Foundation
import LocusData
import LocusEvaluation
import LocusInterventions
import LocusModel
import LocusSteering
import LocusTensor
import LocusTestSupport
import XCTest

/// Issue 11, item 4: IPO/DPO trains in the evaluation's prompt and the edit fires by one rule in
/// training and evaluation. Checks, on the tiny llama with a byte tokenizer:
/// - the position rule: `afterPrefix` never edits the shared prefix, is `all` without one;
/// - training that continues one cached, unedited prefix gives the log-probs and the gradient
///   of training on the whole sequences (so the cache is an optimisation, not an approximation);
/// - the gradient with a cached prefix against finite differences;
/// - end to end: the trainer's steered log-prob of an answer equals the MC evaluator's score of
///   that answer with the steering intervention built by the same rule (same tokens, same
///   edited positions), and `all` positions would not be (they edit the primer).
final class PromptAndPositionsTests: XCTestCase {
    /// A short stand-in for TruthfulQA's prompt (the tiny model's context is 128 tokens).
    let prompt = TruthfulQAPrompt(instruction: "Be true.", primer: "Q: Sky?\nA: Blue.")
    let heads = [AttentionHead(layer: 0, head: 1), AttentionHead(layer: 1, head: 3)]

    func questions() -> TruthfulQA {
        TruthfulQA(questions: [
            TruthfulQAQuestion(
                id: 0, type: "t", category: "c", question: "Cats fly?", bestAnswer: "No",
                correctAnswers: ["No", "Never"], incorrectAnswers: ["Yes"], source: "s"),
            TruthfulQAQuestion(
                id: 1, type: "t", category: "c", question: "2+2?", bestAnswer: "4",
                correctAnswers: ["4"], incorrectAnswers: ["5", "22"], source: "s"),
        ])
    }

    func trainer(
        _ lm: LanguageModel, positions: SteeringPositions, values seed: UInt64?
    ) -> SteeringTrainer {
        let config = SteeringConfiguration(
            headSelection: "test", heads: heads, promptTemplate: .truthfulQA, positions: positions,
            objective: .ipo(tau: 0.2), learningRate: 1e-2, batchSize: 2, gradientClipNorm: nil, seed: 3)
        var p = SteeringParameters(parameterization: .headVectors, heads: heads, headWidth: 16, seed: 0)
        if let seed {
            var g = SeededGenerator(seed: seed)
            p.values = p.values.map { _ in Float(g.nextNormal() * 0.5) }
        }
        return SteeringTrainer(
            model: lm.model, configuration: config, parameters: p,
            sharedPrefix: lm.tokenizer.encode(prompt.sharedPrefix))
    }

    func pairs(_ lm: LanguageModel) -> [TokenizedPair] {
        questions().preferencePairs(questionIDs: [0, 1], prompt: prompt).map { TokenizedPair($0, tokenizer: lm.tokenizer) }
    }

    func testAfterPrefixRuleNeverEditsTheSharedPrefix() {
        let rule = SteeringPositions.afterPrefix
        XCTAssertEqual(rule, SteeringConfiguration(headSelection: "x", heads: []).positions, "the default")
        XCTAssertEqual(
            SteeringConfiguration(headSelection: "x", heads: []).promptTemplate, .truthfulQA, "the default")
        XCTAssertFalse(rule.editsSharedPrefix)
        XCTAssertFalse(SteeringPositions.answer.editsSharedPrefix)
        XCTAssertTrue(SteeringPositions.all.editsSharedPrefix)
        XCTAssertTrue(SteeringPositions.prompt.editsSharedPrefix)
        // A whole sequence (prefix 5 tokens, prompt 8, answer 4) and the same after a cache.
        let whole = SequenceSpan(rowStart: 0, rowCount: 12, firstPosition: 0)
        let cached = SequenceSpan(rowStart: 3, rowCount: 7, firstPosition: 5)
        let positions = rule.positions(prefixLength: 5, promptLengths: [8])
        XCTAssertEqual(positions.rows(of: whole, sequence: 0), Array(5..<12))
        XCTAssertEqual(positions.rows(of: cached, sequence: 0), Array(3..<10), "every row after a cached prefix")
        XCTAssertEqual(rule.positions(prefixLength: 0, promptLengths: [8]), .all, "bare template: every token")
        XCTAssertEqual(SteeringPositions.answer.positions(prefixLength: 5, promptLengths: [8]).rows(of: whole, sequence: 0), Array(8..<12))
    }

    func testTemplatePairsAreTheEvaluationText() throws {
        let tqa = try TestEnvironment.truthfulQA()
        let q = tqa.questions[3]
        let pair = SteeringPromptTemplate.truthfulQA.pairs(tqa, questionIDs: [3])[0]
        let mc = TruthfulQAPrompt()
        XCTAssertEqual(SteeringPromptTemplate.truthfulQA.sharedPrefix + pair.prompt, mc.prompt(q.question))
        XCTAssertEqual(pair.chosen, mc.answerContinuation(q.correctAnswers[0].closedWithPeriod))
        XCTAssertEqual(pair.rejected, mc.answerContinuation(q.incorrectAnswers[0].closedWithPeriod))
        let bare = SteeringPromptTemplate.bare.pairs(tqa, questionIDs: [3])[0]
        XCTAssertEqual(bare.prompt, "Q: \(q.question)\nA:")
        XCTAssertEqual(SteeringPromptTemplate.bare.sharedPrefix, "")
        XCTAssertEqual(bare.chosen, pair.chosen)
    }

    func testCachedPrefixTrainingEqualsWholeSequences() throws {
        let lm = try TestEnvironment.tinyLanguageModel()
        let pairs = pairs(lm)
        let cached = trainer(lm, positions: .afterPrefix, values: 7)
        let whole = trainer(lm, positions: .afterPrefix, values: 7)
        whole.reusesPrefixCache = false
        let reference = try whole.logProbabilities(pairs, steered: false)
        let referenceCached = try cached.logProbabilities(pairs, steered: false)
        for (a, b) in zip(reference, referenceCached) {
            XCTAssertEqual(a.chosen, b.chosen, accuracy: 1e-4)
            XCTAssertEqual(a.rejected, b.rejected, accuracy: 1e-4)
        }
        let steered = try cached.logProbabilities(pairs, steered: true)
        let steeredWhole = try whole.logProbabilities(pairs, steered: true)
        for (a, b) in zip(steered, steeredWhole) { XCTAssertEqual(a.chosen, b.chosen, accuracy: 1e-4) }
        XCTAssertNotEqual(steered[0].chosen, reference[0].chosen, accuracy: 1e-3, "the edit changes the log-probs")
        let g = try cached.lossGradient(pairs, reference: reference)
        let gWhole = try whole.lossGradient(pairs, reference: reference)
        let scale = gWhole.map(abs).max()!
        XCTAssertGreaterThan(scale, 1e-3)
        for (a, b) in zip(g, gWhole) { XCTAssertEqual(a, b, accuracy: 1e-3 * scale + 1e-5) }
    }

    func testCachedPrefixGradientMatchesFiniteDifferences() throws {
        let lm = try TestEnvironment.tinyLanguageModel()
        let pairs = pairs(lm)
        let t = trainer(lm, positions: .afterPrefix, values: 11)
        let reference = try trainer(lm, positions: .afterPrefix, values: nil).logProbabilities(pairs, steered: false)
        let analytic = try t.lossGradient(pairs, reference: reference)
        func loss(_ values: [Float]) throws -> Double {
            var p = t.parameters
            p.values = values
            let probe = SteeringTrainer(
                model: lm.model, configuration: t.configuration, parameters: p, sharedPrefix: t.sharedPrefix)
            return try probe.evaluate(pairs, reference: reference).loss
        }
        let e: Float = 1e-2
        for i in Swift.stride(from: 0, to: analytic.count, by: 5) {
            var plus = t.parameters.values, minus = plus
            plus[i] += e
            minus[i] -= e
            let numeric = (try loss(plus) - loss(minus)) / Double(2 * e)
            XCTAssertEqual(Double(analytic[i]), numeric, accuracy: 2e-3 + 2e-2 * abs(numeric), "θ[\(i)]")
        }
    }

    /// The trainer's steered log-prob of each pair's answers = the MC evaluator's score of those
    /// answers with the steering intervention of the same rule: training scores the evaluation's
    /// token sequences and edits exactly the positions evaluation edits.
    func testTrainingScoresWhatEvaluationScores() throws {
        let lm = try TestEnvironment.tinyLanguageModel()
        let tqa = questions()
        let evaluator = try MultipleChoiceEvaluator(model: lm, prompt: prompt, answersPerBatch: 3, questionsPerBatch: 2)
        let prefixLength = lm.tokenizer.encode(prompt.sharedPrefix).count
        for positions in [SteeringPositions.afterPrefix, .answer] {
            let t = trainer(lm, positions: positions, values: 5)
            let parameters = t.parameters
            let intervention = Intervention.positionRule(
                name: "steering", editsPrompt: positions.editsSharedPrefix, description: positions.description,
                rule: { positions.positions(prefixLength: prefixLength, promptLengths: $0) },
                make: { parameters.hooks(positions: $0) })
            let mc = try evaluator.evaluate(tqa.questions, intervention: intervention)
            let trained = try t.logProbabilities(pairs(lm), steered: true)
            // Pairs: q0 (No, Yes), (Never, Yes); q1 (4, 5), (4, 22). MC: true answers then false.
            XCTAssertEqual(trained[0].chosen, mc.results[0].trueScores[0], accuracy: 2e-4, "\(positions)")
            XCTAssertEqual(trained[1].chosen, mc.results[0].trueScores[1], accuracy: 2e-4)
            XCTAssertEqual(trained[0].rejected, mc.results[0].falseScores[0], accuracy: 2e-4)
            XCTAssertEqual(trained[2].chosen, mc.results[1].trueScores[0], accuracy: 2e-4)
            XCTAssertEqual(trained[3].rejected, mc.results[1].falseScores[1], accuracy: 2e-4)
            let plain = try evaluator.evaluate(tqa.questions)
            XCTAssertNotEqual(plain.results[0].trueScores[0], mc.results[0].trueScores[0], accuracy: 1e-4)
        }
        // Under `all`, evaluation would edit the instruction and primer too: different scores
        // from training with the prefix left unedited.
        let t = trainer(lm, positions: .afterPrefix, values: 5)
        let parameters = t.parameters
        let everywhere = Intervention.positionRule(
            name: "all", editsPrompt: true, description: "all",
            rule: { _ in .all }, make: { parameters.hooks(positions: $0) })
        let mcAll = try evaluator.evaluate(tqa.questions, intervention: everywhere)
        let trained = try t.logProbabilities(pairs(lm), steered: true)
        XCTAssertNotEqual(trained[0].chosen, mcAll.results[0].trueScores[0], accuracy: 1e-3)
    }

    /// An edit of the shared prefix that every question shares (`all`, `prompt`) is computed once
    /// per evaluation and its keys and values reused (issue 14): the same MC scores and the same
    /// generations as running every whole prompt with the edit (the naive twin).
    func testEditedPrefixComputedOnceGivesWholePromptResults() throws {
        let lm = try TestEnvironment.tinyLanguageModel()
        let tqa = questions()
        let prefixLength = lm.tokenizer.encode(prompt.sharedPrefix).count
        let mcEvaluator = try MultipleChoiceEvaluator(model: lm, prompt: prompt, answersPerBatch: 3, questionsPerBatch: 2)
        let generator = try GenerationEvaluator(model: lm, prompt: prompt, maxNewTokens: 6, batchSize: 2)
        for positions in [SteeringPositions.all, .prompt] {
            let parameters = trainer(lm, positions: positions, values: 7).parameters
            let shared = Intervention.positionRule(
                name: "steering", editsPrompt: positions.editsSharedPrefix, description: positions.description,
                rule: { positions.positions(prefixLength: prefixLength, promptLengths: $0) },
                make: { parameters.hooks(positions: $0) })
            XCTAssertTrue(shared.prefixEditShared)
            var whole = shared
            whole.prefixEditShared = false
            let a = try mcEvaluator.evaluate(tqa.questions, intervention: shared)
            let b = try mcEvaluator.evaluate(tqa.questions, intervention: whole)
            let plain = try mcEvaluator.evaluate(tqa.questions)
            for (x, y) in zip(a.results, b.results) {
                for (u, v) in zip(x.trueScores + x.falseScores, y.trueScores + y.falseScores) {
                    XCTAssertEqual(u, v, accuracy: 1e-4, "\(positions)")
                }
            }
            // The edit of the prefix is really there (not the unedited prefix reused).
            XCTAssertNotEqual(a.results[0].trueScores[0], plain.results[0].trueScores[0], accuracy: 1e-3)
            let g1 = try generator.evaluate(tqa.questions, intervention: shared)
            let g2 = try generator.evaluate(tqa.questions, intervention: whole)
            XCTAssertEqual(g1.answers.map(\.answer), g2.answers.map(\.answer), "\(positions)")
            XCTAssertLessThan(g1.summary.tokens, g2.summary.tokens, "the prefix is not run per question")
        }
    }

    func testSteeringFileRecordsTheTemplate() throws {
        let p = SteeringParameters(parameterization: .headVectors, heads: heads, headWidth: 16, seed: 0)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("steer-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SteeringFile(parameters: p, positions: .afterPrefix).write(to: url)
        let loaded = try SteeringFile.load(url)
        XCTAssertEqual(loaded.promptTemplate, .truthfulQA)
        XCTAssertEqual(loaded.positions, .afterPrefix)
        try SteeringFile(parameters: p, positions: .all, promptTemplate: .bare).write(to: url)
        XCTAssertEqual(try SteeringFile.load(url).promptTemplate, .bare)
    }
}
