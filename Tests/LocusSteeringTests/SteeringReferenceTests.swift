import LocusCore
import Foundation
import LocusData
import LocusInterventions
@testable import LocusModel
@testable import LocusSteering
import LocusTensor
import LocusTestSupport
import XCTest

/// Issue 14 (the full Wang & Veitch estimate): the log-probs under a fixed edit — π₀ and the
/// validation after each epoch — computed with less arithmetic, the same numbers.
///
/// 1. Each distinct (prompt, answer) is scored once and shared by the pairs containing it
///    (`SteeringTrainer.scoresDistinctAnswers`). Other rows share the matrix products, so the
///    equality is up to fp32 rounding: 1e-4 absolute on log-probs of order 1–100, as the shared
///    prompt test allows (a wrong prompt/answer assignment changes them by O(1)).
/// 2. A fresh edit is the identity: the initial validation metrics are π₀'s against itself,
///    not recomputed. The hooks of a zero edit add exact zeros, so this is tested bit for bit.
/// 3. π₀'s log-probs are read from a content-addressed cache (`SteeringReferenceCache`): a hit
///    returns the bits the computation returned; another model, pair list, batch size or layout
///    is another file.
final class SteeringReferenceTests: XCTestCase {
    let prompt = TruthfulQAPrompt(instruction: "Be true.", primer: "Q: Sky?\nA: Blue.")

    func tinyPairs(_ lm: LanguageModel) -> [TokenizedPair] {
        let tqa = TruthfulQA(questions: [
            TruthfulQAQuestion(
                id: 0, type: "t", category: "c", question: "Cats fly?", bestAnswer: "No",
                correctAnswers: ["No", "Never", "Not at all"], incorrectAnswers: ["Yes", "Sometimes"], source: "s"),
            TruthfulQAQuestion(
                id: 1, type: "t", category: "c", question: "2+2?", bestAnswer: "4",
                correctAnswers: ["4"], incorrectAnswers: ["5", "22", "It depends"], source: "s"),
            TruthfulQAQuestion(
                id: 2, type: "t", category: "c", question: "Is water wet?", bestAnswer: "Yes",
                correctAnswers: ["Yes", "It is"], incorrectAnswers: ["No"], source: "s"),
        ])
        var pairs = tqa.preferencePairs(questionIDs: [0, 1, 2], prompt: prompt).map {
            TokenizedPair($0, tokenizer: lm.tokenizer)
        }
        // A one-token answer (predicted at the prompt's last row only), shared by two pairs.
        pairs.append(TokenizedPair(prompt: pairs[0].prompt, chosen: [78], rejected: [89, 101, 115], group: 3))
        pairs.append(TokenizedPair(prompt: pairs[0].prompt, chosen: [78], rejected: pairs[0].rejected, group: 3))
        return pairs
    }

    func trainer(
        _ model: DecoderModel, heads: [AttentionHead], positions: SteeringPositions, sharedPrefix: [Int],
        batchSize: Int = 3, parameterization: SteeringParameterization = .headVectors, random: Bool = true
    ) -> SteeringTrainer {
        let config = SteeringConfiguration(
            headSelection: "test", heads: heads, promptTemplate: .truthfulQA, parameterization: parameterization,
            positions: positions, objective: .ipo(tau: 0.2), batchSize: batchSize, gradientClipNorm: nil, seed: 3)
        var parameters = SteeringParameters(
            parameterization: parameterization, heads: heads, headWidth: model.config.headWidth, seed: 0)
        if random {
            var g = SeededGenerator(seed: 13)
            parameters.values = parameters.values.map { _ in Float(g.nextNormal() * 0.5) }
        }
        return SteeringTrainer(model: model, configuration: config, parameters: parameters, sharedPrefix: sharedPrefix)
    }

    func assertDistinctAnswersChangeNothing(
        _ make: () -> SteeringTrainer, _ pairs: [TokenizedPair], _ label: String
    ) throws {
        let distinct = make(), perPair = make()
        perPair.scoresDistinctAnswers = false
        XCTAssertTrue(distinct.scoresDistinctAnswers, "the default")
        let (groups, _, _) = distinct.distinctAnswers(pairs)
        XCTAssertLessThan(groups.map(\.answers.count).reduce(0, +), 2 * pairs.count, "\(label): answers to share")
        for steered in [false, true] {
            let a = try distinct.logProbabilities(pairs, steered: steered)
            let b = try perPair.logProbabilities(pairs, steered: steered)
            XCTAssertEqual(a.count, pairs.count)
            for i in pairs.indices {
                XCTAssertEqual(a[i].chosen, b[i].chosen, accuracy: 1e-4, "\(label) steered \(steered) pair \(i)")
                XCTAssertEqual(a[i].rejected, b[i].rejected, accuracy: 1e-4, "\(label) steered \(steered) pair \(i)")
            }
            if steered {
                let reference = try perPair.logProbabilities(pairs, steered: false)
                let ma = try distinct.evaluate(pairs, reference: reference)
                let mb = try perPair.evaluate(pairs, reference: reference)
                XCTAssertEqual(ma.margin, mb.margin, accuracy: 1e-4, label)
                XCTAssertEqual(ma.loss, mb.loss, accuracy: 1e-4 * max(1, abs(mb.loss)), label)
                XCTAssertEqual(ma.accuracy, mb.accuracy, label)
                XCTAssertGreaterThan(abs(mb.margin), 1e-3, "\(label): an edit that changes the log-probs")
            }
        }
    }

    func testDistinctAnswersGiveThePairLogProbabilities() throws {
        let lm = try TestEnvironment.tinyLanguageModel()
        let pairs = tinyPairs(lm)
        let prefix = lm.tokenizer.encode(prompt.sharedPrefix)
        let heads = [AttentionHead(layer: 0, head: 1), AttentionHead(layer: 1, head: 3)]
        for positions in SteeringPositions.allCases {
            for batchSize in [1, 3] {
                try assertDistinctAnswersChangeNothing(
                    { trainer(lm.model, heads: heads, positions: positions, sharedPrefix: prefix, batchSize: batchSize) },
                    pairs, "\(positions) batch \(batchSize)")
            }
        }
        try assertDistinctAnswersChangeNothing(
            {
                let t = trainer(lm.model, heads: heads, positions: .afterPrefix, sharedPrefix: prefix)
                t.reusesPrefixCache = false
                return t
            }, pairs, "prefix not cached")
    }

    /// The real checkpoint on real TruthfulQA pairs in the evaluation's template (the full
    /// recipes' layout: instruction + primer cached, edit after it, 16 random heads).
    func testDistinctAnswersOnSmolLM2WithTruthfulQAPairs() throws {
        let lm = try TestEnvironment.smolLM()
        let tqa = try TestEnvironment.truthfulQA()
        let template = SteeringPromptTemplate.truthfulQA
        let pairs = template.pairs(tqa, questionIDs: [3, 17]).map { TokenizedPair($0, tokenizer: lm.tokenizer) }
        XCTAssertGreaterThan(pairs.count, 6)
        let heads = try HeadSetSelection.random(count: 16, seed: 0).resolve(in: lm.model.config)
        try assertDistinctAnswersChangeNothing(
            {
                trainer(
                    lm.model, heads: heads, positions: .afterPrefix,
                    sharedPrefix: lm.tokenizer.encode(template.sharedPrefix), batchSize: 4)
            }, pairs, "SmolLM2")
    }

    func testFreshEditIsTheIdentityAndItsHooksChangeNoBit() throws {
        let lm = try TestEnvironment.tinyLanguageModel()
        let pairs = tinyPairs(lm)
        let prefix = lm.tokenizer.encode(prompt.sharedPrefix)
        let heads = [AttentionHead(layer: 0, head: 1), AttentionHead(layer: 1, head: 3)]
        for parameterization in [SteeringParameterization.headVectors, .rankOne] {
            let t = trainer(
                lm.model, heads: heads, positions: .afterPrefix, sharedPrefix: prefix,
                parameterization: parameterization, random: false)
            XCTAssertTrue(t.parameters.isIdentity, "\(parameterization)")
            if parameterization == .rankOne {
                XCTAssertTrue(t.parameters.values.contains { $0 != 0 }, "rank-one's a is random, b zero")
            }
            // The zero edit's hooks, run: bit for bit the unedited forward pass.
            let (tokens, targets, _, prompts, continuing) = t.layout(pairs)
            let hooked = try t.forward(tokens, targets: targets, hooks: t.hooks(promptLengths: prompts), continuing: continuing)
            let plain = try t.forward(tokens, targets: targets, hooks: [], continuing: continuing)
            XCTAssertEqual(hooked, plain, "\(parameterization)")
            // The initial validation is π₀ against itself, as the evaluation computes it.
            let state = try t.initialState(train: pairs, validation: pairs)
            let evaluated = try t.evaluate(pairs, reference: state.validationReference)
            XCTAssertEqual(state.initialValidation, evaluated, "\(parameterization)")
            XCTAssertEqual(state.initialValidation.margin, 0)
            var moved = t.parameters
            if parameterization == .rankOne { moved.values[2 * lm.model.config.headWidth - 1] = 0.25 } else { moved.values[5] = 0.25 }
            XCTAssertFalse(moved.isIdentity, "\(parameterization) with a non-zero b / v")
        }
    }

    func testReferenceCacheReturnsTheComputedBits() throws {
        let lm = try TestEnvironment.tinyLanguageModel()
        let pairs = tinyPairs(lm)
        let prefix = lm.tokenizer.encode(prompt.sharedPrefix)
        let heads = [AttentionHead(layer: 1, head: 3)]
        let dir = try TestEnvironment.temporaryDirectory("ipo-reference-cache")
        let cache = SteeringReferenceCache(directory: dir, modelSHA256: String(repeating: "ab", count: 32))
        let t = trainer(lm.model, heads: heads, positions: .afterPrefix, sharedPrefix: prefix, random: false)
        let computed = try t.logProbabilities(pairs, steered: false)
        let first = try cache.referenceLogProbabilities(pairs, trainer: t)
        XCTAssertFalse(first.cached)
        XCTAssertEqual(first.logProbabilities, computed)
        let second = try cache.referenceLogProbabilities(pairs, trainer: t)
        XCTAssertTrue(second.cached)
        XCTAssertEqual(second.logProbabilities, computed, "bit for bit")
        // A run of another head set and τ on the same pairs reads the same file.
        let other = trainer(lm.model, heads: [AttentionHead(layer: 0, head: 0)], positions: .afterPrefix, sharedPrefix: prefix)
        XCTAssertEqual(cache.url(for: pairs, trainer: other), cache.url(for: pairs, trainer: t))
        let state = try other.initialState(train: pairs, validation: Array(pairs.prefix(3)), referenceCache: cache)
        XCTAssertEqual(state.trainReference, computed)
        // Whatever changes the numbers changes the key.
        let url = cache.url(for: pairs, trainer: t)
        XCTAssertNotEqual(cache.url(for: Array(pairs.dropLast()), trainer: t), url)
        XCTAssertNotEqual(cache.url(for: pairs.reversed(), trainer: t), url)
        XCTAssertNotEqual(
            cache.url(for: pairs, trainer: trainer(lm.model, heads: heads, positions: .afterPrefix, sharedPrefix: prefix, batchSize: 2)),
            url)
        XCTAssertNotEqual(
            SteeringReferenceCache(directory: dir, modelSHA256: String(repeating: "cd", count: 32)).url(for: pairs, trainer: t),
            url)
        let unshared = trainer(lm.model, heads: heads, positions: .afterPrefix, sharedPrefix: prefix, random: false)
        unshared.scoresDistinctAnswers = false
        XCTAssertNotEqual(cache.url(for: pairs, trainer: unshared), url)
        // A damaged file is a miss: recomputed and rewritten.
        try Data([1, 2, 3]).write(to: url)
        XCTAssertNil(cache.load(url, count: pairs.count))
        let third = try cache.referenceLogProbabilities(pairs, trainer: t)
        XCTAssertFalse(third.cached)
        XCTAssertEqual(third.logProbabilities, computed)
        XCTAssertEqual(cache.load(url, count: pairs.count), computed)
    }
}
