import Foundation
import LocusModel

// Log-probabilities under a fixed edit (π₀, validation): each distinct answer scored once.
//
// TruthfulQA's preference pairs are every (correct, incorrect) answer pair of a question
// (`TruthfulQA.preferencePairs`), so a question with c correct and i incorrect answers gives
// c·i pairs but only c + i distinct answers, all continuing the same prompt. While the edit is
// fixed — the reference model π₀, validation after an epoch — log π(y|x) depends only on (x, y),
// so it is computed once per distinct (prompt, answer) and shared by every pair that contains
// it: c·i·(|x| + 2|y|) rows become |x| + (c + i)·|y| (full TruthfulQA training split: ≈ 15 pairs,
// ≈ 7.7 distinct answers per question, ≈ 5× fewer rows and unembedding products). Training
// steps cannot share this way (the edit changes after every batch of shuffled pairs).
//
// Same numbers: each answer's log-probs are the same rows of the same forward pass as in the
// per-pair layout (prompt once, answers continuing it, `DecoderModel.forwardForTraining
// (continuing:)`); only which other rows share a matrix product changes, so they agree with the
// per-pair layout up to float rounding of the batched products
// (`SteeringReferenceTests.testDistinctAnswersGiveThePairLogProbabilities`).

extension SteeringParameters {
    /// Whether the edit changes nothing: every head vector (or the residual vector) is zero, or
    /// for rank-one every b_h is zero (Δz = ⟨a, z⟩·b = 0). A freshly initialised edit is one.
    public var isIdentity: Bool {
        switch parameterization {
        case .headVectors, .residual:
            return values.allSatisfy { $0 == 0 }
        case .rankOne:
            let s = stride
            return heads.indices.allSatisfy { h in
                values[(h * s + headWidth)..<(h * s + 2 * headWidth)].allSatisfy { $0 == 0 }
            }
        }
    }
}

extension SteeringTrainer {
    /// A prompt with its distinct answers, in first-seen order.
    struct PromptGroup {
        var prompt: [Int]
        var answers: [[Int]] = []
        var answerIndex: [[Int]: Int] = [:]
    }

    /// The distinct prompts of `pairs` with their distinct answers, and for each pair the
    /// (group, answer) indices of its chosen and rejected answer.
    func distinctAnswers(_ pairs: [TokenizedPair]) -> (groups: [PromptGroup], chosen: [(Int, Int)], rejected: [(Int, Int)]) {
        var groups: [PromptGroup] = []
        var groupIndex: [[Int]: Int] = [:]
        var chosen: [(Int, Int)] = [], rejected: [(Int, Int)] = []
        func index(_ answer: [Int], in g: Int) -> Int {
            if let a = groups[g].answerIndex[answer] { return a }
            groups[g].answers.append(answer)
            groups[g].answerIndex[answer] = groups[g].answers.count - 1
            return groups[g].answers.count - 1
        }
        for pair in pairs {
            let g: Int
            if let known = groupIndex[pair.prompt] {
                g = known
            } else {
                g = groups.count
                groups.append(PromptGroup(prompt: pair.prompt))
                groupIndex[pair.prompt] = g
            }
            chosen.append((g, index(pair.chosen, in: g)))
            rejected.append((g, index(pair.rejected, in: g)))
        }
        return (groups, chosen, rejected)
    }

    /// Sequences, targets and prompt lengths of a batch of prompt groups: each prompt x
    /// (predicting every answer's first token at its last row), then each distinct answer
    /// without its last token, continuing x. `spans[g][a]` are answer a's targets.
    func layout(
        groups: ArraySlice<PromptGroup>
    ) -> (tokens: [[Int]], targets: [TokenTarget], spans: [[Range<Int>]], prompts: [Int], continuing: [Int?]) {
        let p = sharedPrefix.count
        let lead = continuesCachedPrefix ? [] : sharedPrefix
        var built = SequenceLayout(), spans: [[Range<Int>]] = []
        for group in groups {
            let promptLength = p + group.prompt.count
            let x = built.appendPrompt(group.prompt, lead: lead, promptLength: promptLength)
            spans.append(group.answers.map { built.appendAnswer($0, continuing: x, promptLength: promptLength) })
        }
        return (built.tokens, built.targets, spans, built.prompts, built.continuing)
    }

    /// `logProbabilities` with each distinct (prompt, answer) scored once. Batches hold whole
    /// prompt groups, about as many answer sequences as a per-pair batch
    /// (2 · `configuration.batchSize`), so the rows per forward pass stay comparable.
    func logProbabilitiesOfDistinctAnswers(
        _ pairs: [TokenizedPair], steered: Bool, progress: (Int, Int) -> Void
    ) throws -> [PairLogProbabilities] {
        let (groups, chosen, rejected) = distinctAnswers(pairs)
        var scores: [[Double]] = groups.map { Array(repeating: .nan, count: $0.answers.count) }
        let answersPerBatch = 2 * max(1, configuration.batchSize)
        var pairsPerGroup = [Int](repeating: 0, count: groups.count)
        for (g, _) in chosen { pairsPerGroup[g] += 1 }
        var start = 0, done = 0
        while start < groups.count {
            var end = start + 1
            var answers = groups[start].answers.count
            while end < groups.count && answers + groups[end].answers.count <= answersPerBatch {
                answers += groups[end].answers.count
                end += 1
            }
            let (tokens, targets, spans, prompts, continuing) = layout(groups: groups[start..<end])
            let hooks: [ActivationHook] = steered ? self.hooks(promptLengths: prompts) : []
            let lp = try forward(tokens, targets: targets, hooks: hooks, continuing: continuing)
            for (offset, groupSpans) in spans.enumerated() {
                scores[start + offset] = sequenceScores(lp, spans: groupSpans)
                done += pairsPerGroup[start + offset]
            }
            progress(done, pairs.count)
            start = end
        }
        return zip(chosen, rejected).map { c, r in
            PairLogProbabilities(chosen: scores[c.0][c.1], rejected: scores[r.0][r.1])
        }
    }

    /// Loss, mean margin and accuracy of steered log-probs against reference ones.
    static func metrics(
        steered: [PairLogProbabilities], reference: [PairLogProbabilities], objective: PreferenceObjective
    ) -> PreferenceMetrics {
        var loss = 0.0, margin = 0.0, correct = 0.0
        for (s, r) in zip(steered, reference) {
            let h = (s.chosen - r.chosen) - (s.rejected - r.rejected)
            loss += objective.loss(margin: h).value
            margin += h
            correct += s.chosen > s.rejected ? 1 : 0
        }
        let n = Double(steered.count)
        return PreferenceMetrics(loss: loss / n, margin: margin / n, accuracy: correct / n)
    }
}
