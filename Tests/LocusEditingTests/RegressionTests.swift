import LocusEditing
import XCTest

final class RegressionTests: XCTestCase {
    /// y on x for (0,1),(1,3),(2,2),(3,5): slope 5.5/5 = 1.1, intercept 1.1,
    /// RSS = .01+.64+1.69+.36 = 2.7, TSS = 8.75, R² = 1 − 2.7/8.75.
    func testSimpleRegressionByHand() {
        let fit = OLSFit(design: [[1, 0], [1, 1], [1, 2], [1, 3]], response: [1, 3, 2, 5])
        XCTAssertEqual(fit.coefficients[0], 1.1, accuracy: 1e-12)
        XCTAssertEqual(fit.coefficients[1], 1.1, accuracy: 1e-12)
        XCTAssertEqual(fit.residualSumOfSquares, 2.7, accuracy: 1e-12)
        XCTAssertEqual(fit.rSquared, 1 - 2.7 / 8.75, accuracy: 1e-12)
        XCTAssertEqual(fit.rank, 2)
    }

    /// A duplicated column is dropped (rank 2), the fit is unchanged.
    func testCollinearColumnIsDropped() {
        let fit = OLSFit(design: [[1, 0, 0], [1, 1, 2], [1, 2, 4], [1, 3, 6]], response: [1, 3, 2, 5])
        XCTAssertEqual(fit.rank, 2)
        XCTAssertEqual(fit.rSquared, 1 - 2.7 / 8.75, accuracy: 1e-10)
    }

    /// F(2, 2): P(F > f) = 1/(1 + f); F(1, ∞-ish) checks against the normal: P(F(1,1e6) > 3.8415) ≈ .05.
    func testFDistributionTail() {
        XCTAssertEqual(RegressionStatistics.fDistributionUpperTail(3, df1: 2, df2: 2), 0.25, accuracy: 1e-10)
        XCTAssertEqual(RegressionStatistics.fDistributionUpperTail(1, df1: 2, df2: 2), 0.5, accuracy: 1e-10)
        XCTAssertEqual(RegressionStatistics.fDistributionUpperTail(3.841459, df1: 1, df2: 1e7), 0.05, accuracy: 1e-4)
    }

    /// Layer groups {0: y = 1, 2} and {1: y = 5, 6}: group means 1.5 and 5.5, RSS = 4·0.25 = 1,
    /// TSS = 17 → R²(layer) = 16/17. Tracing effect = y exactly → R²(tracing) = 1, gain 1/17.
    func testHaseAnalysisByHand() {
        let obs = [
            HaseObservation(fact: 0, layer: 0, tracingEffect: 1, editSuccess: 1),
            HaseObservation(fact: 1, layer: 0, tracingEffect: 2, editSuccess: 2),
            HaseObservation(fact: 0, layer: 1, tracingEffect: 5, editSuccess: 5),
            HaseObservation(fact: 1, layer: 1, tracingEffect: 6, editSuccess: 6),
            HaseObservation(fact: 2, layer: 1, tracingEffect: 5.5, editSuccess: 5.5),
        ]
        // With the fifth point (layer 1, 5.5) group 1's mean stays 5.5: RSS = 1, mean y = 3.9,
        // TSS = 8.41+3.61+1.21+4.41+2.56 = 20.2.
        let a = HaseAnalysis(obs)
        XCTAssertEqual(a.layerOnly.rSquared, 1 - 1 / 20.2, accuracy: 1e-12)
        XCTAssertEqual(a.tracingOnly.rSquared, 1, accuracy: 1e-12)
        XCTAssertEqual(a.both.rSquared, 1, accuracy: 1e-12)
        XCTAssertEqual(a.gain, 1 / 20.2, accuracy: 1e-12)
        XCTAssertEqual(a.fTest.numeratorDegrees, 2)
    }

    func testAgreementTable() {
        let rows = AgreementRow.table([
            (layer: 3, edit: true, patch: true), (layer: 3, edit: true, patch: false),
            (layer: 1, edit: false, patch: false), (layer: 3, edit: false, patch: false),
        ])
        XCTAssertEqual(rows.map(\.layer), [1, 3])
        XCTAssertEqual(rows[1].agreement, 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(rows[1].editFlips, 2)
        XCTAssertEqual(rows[0].agreement, 1)
    }

    func testHaseScores() {
        XCTAssertEqual(CounterFactMetrics.rewriteScore(before: 0.2, after: 0.6), 0.5, accuracy: 1e-12)
        XCTAssertEqual(CounterFactMetrics.neighbourhoodScore(before: 0.9, after: 0.5), 1 - 0.4 / 0.9, accuracy: 1e-12)
        // evaluate.py L240: the rewrite score is floored at 2e-8 (an edit that lowers p(new)).
        XCTAssertEqual(CounterFactMetrics.rewriteScore(before: 0.3, after: 0.1), 2e-8)
        XCTAssertEqual(CounterFactMetrics.rewriteScore(before: 0.3, after: 0.3), 2e-8)
        XCTAssertEqual(CounterFactMetrics.rewriteScore(before: 1, after: 1), 2e-8)
    }

    /// The neighbourhood score reads p(new object) on the neighbourhood prompt (evaluate.py
    /// L232–248 `neighborhood_prompts_probs[0]['target_new']`), not p(true object).
    func testNeighbourhoodScoreUsesTheNewObject() {
        func scores(new: Double, true t: Double) -> ObjectScores {
            ObjectScores(
                logProbabilityNew: log(new), logProbabilityTrue: log(t), meanNew: log(new), meanTrue: log(t))
        }
        let before = CounterFactScores(
            rewrite: scores(new: 0.01, true: 0.5), paraphrase: scores(new: 0.01, true: 0.5),
            neighbourhood: scores(new: 0.1, true: 0.6))
        let after = CounterFactScores(
            rewrite: scores(new: 0.9, true: 0.05), paraphrase: scores(new: 0.005, true: 0.5),
            neighbourhood: scores(new: 0.3, true: 0.6))
        let o = CounterFactOutcome(caseID: 1, before: before, after: after)
        XCTAssertEqual(o.neighbourhoodScore, 1 - 0.2 / (0.4 + 0.5), accuracy: 1e-12)  // p(true) unchanged: would be 1
        XCTAssertEqual(o.rewriteScore, (0.9 - 0.01) / 0.99, accuracy: 1e-12)
        XCTAssertEqual(o.paraphraseScore, 2e-8)  // floored
    }

    /// Hase's correctness rule and fact filter on a hand-made table: only facts the model gets
    /// right (and with p(true) ≥ 0.02) give observations.
    func testHaseFilterOnHandMadeTable() {
        XCTAssertTrue(HaseFact.isCorrect(generation: " Paris, the capital of France.", label: "Paris"))
        XCTAssertTrue(HaseFact.isCorrect(generation: "  paris ", label: "Paris"))
        XCTAssertFalse(HaseFact.isCorrect(generation: " Rome, Italy.", label: "Paris"))
        XCTAssertFalse(HaseFact.isCorrect(generation: "", label: "Paris"))
        let facts = [
            HaseFact(id: "a", correct: true, trueProbability: 0.5, layers: [0, 6], tracingEffect: [0.4, 0.1], editSuccess: [0.9, 0.2]),
            HaseFact(id: "b", correct: false, trueProbability: 0.5, layers: [0, 6], tracingEffect: [0.3, 0.0], editSuccess: [0.8, 0.1]),
            HaseFact(id: "c", correct: true, trueProbability: 0.01, layers: [0, 6], tracingEffect: [0.2, 0.2], editSuccess: [0.7, 0.3]),
            HaseFact(id: "d", correct: true, trueProbability: 0.02, layers: [0, 6], tracingEffect: [0.0, 0.5], editSuccess: [0.6, 0.4]),
        ]
        let filter = HaseFilter()
        XCTAssertEqual(facts.map(filter.admits), [true, false, false, true])
        let obs = filter.observations(facts)
        XCTAssertEqual(obs.map(\.fact), [0, 0, 3, 3])
        XCTAssertEqual(obs.map(\.layer), [0, 6, 0, 6])
        XCTAssertEqual(obs.map(\.tracingEffect), [0.4, 0.1, 0.0, 0.5])
        XCTAssertEqual(obs.map(\.editSuccess), [0.9, 0.2, 0.6, 0.4])
        XCTAssertEqual(HaseFilter.none.observations(facts).count, 8)
        XCTAssertEqual(HaseFilter(requireCorrect: true, minTrueProbability: 0).observations(facts).count, 6)
    }
}
