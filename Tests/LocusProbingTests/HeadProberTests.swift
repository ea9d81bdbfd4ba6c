import LocusCore
import Foundation
import LocusData
import LocusProbing
import LocusTensor
import XCTest

/// The probing pipeline on synthetic activations: 2 layers × 2 heads × D = 3, 60 questions of
/// 4 choices; only head L1H0 carries the label.
final class HeadProberTests: XCTestCase {
    func synthetic(perturbQuestions: Set<Int> = [], questions: Int = 60) -> HeadActivations {
        let layers = 2, heads = 2, d = 3, choices = 4
        var g = SeededGenerator(seed: 11)
        var ids: [Int] = [], labels: [Bool] = []
        for q in 0..<questions {
            for c in 0..<choices {
                ids.append(q)
                labels.append(c < 2)
            }
        }
        let n = ids.count, width = heads * d
        var values = [Float](repeating: 0, count: layers * n * width)
        for l in 0..<layers {
            for s in 0..<n {
                for j in 0..<width {
                    var v = Float(g.nextNormal())
                    if l == 1 && j == 0 { v += labels[s] ? 2 : -2 }
                    if perturbQuestions.contains(ids[s]) { v = v * 50 + 7 }
                    values[(l * n + s) * width + j] = v
                }
            }
        }
        let header = HeadActivationHeader(
            modelFile: "synthetic", modelSHA256: "0", promptFormat: .iti, layerCount: layers,
            headCount: heads, headWidth: d, sampleCount: n, samplesSHA256: "s", questionIDs: ids,
            labels: labels, tokenCount: 0, seconds: 0)
        return HeadActivations(header: header, values: values)
    }

    func testSplitsAreDisjointByQuestionAndSignalHeadWins() throws {
        let ranking = try HeadProber.run(
            synthetic(), settings: ProbeSettings(seed: 3), modelFile: "m", cacheDirectory: "c")
        XCTAssertEqual(ranking.folds.count, 2)
        var heldOutUnion = Set<Int>()
        for fold in ranking.folds {
            let train = Set(fold.trainQuestions), validation = Set(fold.validationQuestions)
            let heldOut = Set(fold.heldOutQuestions)
            XCTAssertTrue(train.isDisjoint(with: validation))
            XCTAssertTrue(train.union(validation).isDisjoint(with: heldOut))
            XCTAssertEqual(train.union(validation).union(heldOut), Set(0..<60))
            XCTAssertEqual(fold.validationQuestions.count, 6)  // 20% of 30
            heldOutUnion.formUnion(heldOut)
            XCTAssertEqual(fold.heads.first?.id, AttentionHead(layer: 1, head: 0))
            XCTAssertGreaterThan(fold.heads.first!.accuracy, 0.9)
            let best = fold.probe(AttentionHead(layer: 1, head: 0), headCount: 2)
            XCTAssertGreaterThan(abs(best.massMean.direction[0]), 0.95)
            XCTAssertGreaterThan(best.massMean.direction[0], 0)  // true − false points up
        }
        XCTAssertEqual(heldOutUnion, Set(0..<60))
        XCTAssertEqual(ranking.heads.count, 4)
        XCTAssertEqual(ranking.top(1), [AttentionHead(layer: 1, head: 0)])
        XCTAssertEqual(ranking.heads.map(\.accuracy), ranking.heads.map(\.accuracy).sorted(by: >))
    }

    /// σ, directions and probes of a fold must not depend on its held-out questions at all.
    func testHeldOutActivationsNeverLeakIntoTheFold() throws {
        let settings = ProbeSettings(seed: 3)
        let clean = try HeadProber.run(synthetic(), settings: settings, modelFile: "m", cacheDirectory: "c")
        let heldOut = Set(clean.folds[0].heldOutQuestions)
        let perturbed = try HeadProber.run(
            synthetic(perturbQuestions: heldOut), settings: settings, modelFile: "m",
            cacheDirectory: "c")
        XCTAssertEqual(clean.folds[0].probes, perturbed.folds[0].probes)
        XCTAssertNotEqual(clean.folds[1].probes, perturbed.folds[1].probes)
    }

    /// Issue 11, item 6: mass-mean θ and σ of a fold come from its train questions only, so
    /// validation questions (which only rank heads and choose α) can change neither; the
    /// honest_llama option (train + validation) equals the computation over both.
    func testDirectionsAndSigmaUseTrainQuestionsOnly() throws {
        let settings = ProbeSettings(seed: 3)
        let clean = try HeadProber.run(synthetic(), settings: settings, modelFile: "m", cacheDirectory: "c")
        XCTAssertEqual(clean.directionData, .train)
        let fold = clean.folds[0]
        let perturbed = try HeadProber.run(
            synthetic(perturbQuestions: Set(fold.validationQuestions)), settings: settings,
            modelFile: "m", cacheDirectory: "c")
        for (a, b) in zip(fold.probes, perturbed.folds[0].probes) {
            XCTAssertEqual(a.massMean, b.massMean)
            XCTAssertEqual(a.probe.sigma, b.probe.sigma)
            XCTAssertEqual(a.probeWeights, b.probeWeights)
        }

        // Against a direct computation on the train questions' samples (numpy's population σ).
        let activations = synthetic()
        let id = AttentionHead(layer: 1, head: 0)
        func rows(_ questions: [Int]) -> [Int] {
            let set = Set(questions)
            return activations.header.questionIDs.indices.filter { set.contains(activations.header.questionIDs[$0]) }
        }
        func expected(_ questions: [Int]) -> (direction: [Float], sigma: Double) {
            let r = rows(questions)
            let x = activations.head(layer: 1, head: 0, samples: r)
            let labels = r.map { activations.header.labels[$0] }
            let theta = DirectionStatistics.massMean(x: x, labels: labels, columns: 3)
            return (theta.map(Float.init), DirectionStatistics.projectionStd(x: x, direction: theta, columns: 3))
        }
        let train = expected(fold.trainQuestions)
        XCTAssertEqual(fold.probe(id, headCount: 2).massMean.direction, train.direction)
        XCTAssertEqual(fold.probe(id, headCount: 2).massMean.sigma, train.sigma)

        var reference = settings
        reference.directionData = .trainAndValidation
        let honest = try HeadProber.run(activations, settings: reference, modelFile: "m", cacheDirectory: "c")
        XCTAssertEqual(honest.directionData, .trainAndValidation)
        let both = expected(fold.trainingFoldQuestions)
        XCTAssertEqual(honest.folds[0].probe(id, headCount: 2).massMean.direction, both.direction)
        XCTAssertEqual(honest.folds[0].probe(id, headCount: 2).massMean.sigma, both.sigma)
        XCTAssertNotEqual(both.sigma, train.sigma)
        // Same splits and probes either way: only directions and σ differ.
        XCTAssertEqual(honest.folds[0].heads, fold.heads)
    }

    /// Issue 11, item 5: a ranking restricted to some questions (e.g. IPO's training questions)
    /// reads no other question's activations, and records the restriction.
    func testRankingRestrictedToQuestionsNeverReadsOthers() throws {
        let settings = ProbeSettings(seed: 3)
        let subset = QuestionSubset(label: "IPO training questions", ids: Array(0..<36))
        let outside = Set(36..<60)
        let a = try HeadProber.run(synthetic(), settings: settings, modelFile: "m", cacheDirectory: "c", questions: subset)
        let b = try HeadProber.run(
            synthetic(perturbQuestions: outside), settings: settings, modelFile: "m", cacheDirectory: "c",
            questions: subset)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.questionSubset, subset)
        XCTAssertEqual(a.questionCount, 36)
        for fold in a.folds {
            XCTAssertTrue(Set(fold.trainQuestions + fold.validationQuestions + fold.heldOutQuestions).isSubset(of: Set(0..<36)))
        }
        XCTAssertEqual(a.top(1), [AttentionHead(layer: 1, head: 0)])
    }

    /// `ProbeRanking.restricted(to:)` (what IPO's `top` head sets use) redoes the ranking from
    /// the ranking's own activation cache on the subset only; a missing cache is a clear error.
    func testRestrictedRankingReadsTheCacheAndMatchesAProbeOnTheSubset() throws {
        let activations = synthetic()
        let dir = try ProbingTestSupport.temporaryDirectory("restricted")
        try activations.write(directory: dir)
        let settings = ProbeSettings(seed: 3)
        let full = try HeadProber.run(activations, settings: settings, modelFile: "m", cacheDirectory: dir.path)
        let subset = QuestionSubset(label: "IPO training questions", ids: Array(stride(from: 0, to: 60, by: 2)))
        let restricted = try full.restricted(to: subset)
        XCTAssertEqual(
            restricted,
            try HeadProber.run(activations, settings: settings, modelFile: "m", cacheDirectory: dir.path, questions: subset))
        XCTAssertEqual(restricted.questionSubset?.label, "IPO training questions")
        XCTAssertNotEqual(restricted.folds[0].trainQuestions, full.folds[0].trainQuestions)
        var missing = full
        missing.activationCache.directory = dir.appendingPathComponent("nowhere").path
        XCTAssertThrowsError(try missing.restricted(to: subset)) {
            XCTAssertTrue("\($0)".contains("nowhere"), "\($0)")
        }
    }

    func testDeterministicAndRankingFileRoundTrips() throws {
        let settings = ProbeSettings(seed: 8)
        let a = try HeadProber.run(synthetic(), settings: settings, modelFile: "m", cacheDirectory: "c")
        let b = try HeadProber.run(synthetic(), settings: settings, modelFile: "m", cacheDirectory: "c")
        XCTAssertEqual(a, b)
        let url = try ProbingTestSupport.temporaryDirectory("ranking").appendingPathComponent("r.json")
        try a.write(to: url)
        XCTAssertEqual(try ProbeRanking.load(url), a)
        // The steering side reads `heads` as {"layer", "head", "accuracy"} objects, best first.
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let heads = json["heads"] as! [[String: Any]]
        XCTAssertEqual(Set(heads[0].keys), ["layer", "head", "accuracy"])
        XCTAssertEqual(heads[0]["layer"] as? Int, 1)
        XCTAssertEqual(heads[0]["head"] as? Int, 0)
    }

    func testRandomDirectionSigmaUsesTrainingFoldOnly() throws {
        let activations = synthetic()
        let ranking = try HeadProber.run(
            activations, settings: ProbeSettings(seed: 3), modelFile: "m", cacheDirectory: "c")
        let heads = [AttentionHead(layer: 0, head: 1), AttentionHead(layer: 1, head: 0)]
        let edit = try ITIEdit.make(
            ranking: ranking, fold: 0, heads: heads, direction: .random, alpha: 5, seed: 9,
            activations: activations, selection: "test")
        let perturbed = try ITIEdit.make(
            ranking: ranking, fold: 0, heads: heads, direction: .random, alpha: 5, seed: 9,
            activations: synthetic(perturbQuestions: Set(ranking.folds[0].heldOutQuestions)),
            selection: "test")
        XCTAssertEqual(edit, perturbed)
        for shift in edit.heads {
            let norm = shift.direction.reduce(0) { $0 + $1 * $1 }
            XCTAssertEqual(norm, 1, accuracy: 1e-5)
            XCTAssertGreaterThan(shift.sigma, 0.3)
        }
        XCTAssertThrowsError(
            try ITIEdit.make(
                ranking: ranking, fold: 0, heads: heads, direction: .random, alpha: 5,
                selection: "no cache"))
        let massMean = try ITIEdit.make(
            ranking: ranking, fold: 1, heads: heads, direction: .massMean, alpha: 5,
            selection: "test")
        XCTAssertEqual(
            massMean.heads[1].direction,
            ranking.folds[1].probe(heads[1], headCount: 2).massMean.direction)
    }

    /// The crash of issue 13: 4 questions in 2 folds with validation fraction 0.2 leave each
    /// fold's 2 training-fold questions all for the probes and none for validation, whose accuracy
    /// was 0/0 = NaN (the ranking file then failed to encode after the whole collection). Now
    /// an error that names the fold, the counts and the two ways out.
    func testTooFewQuestionsForAValidationSplitIsAClearError() throws {
        let settings = ProbeSettings(seed: 3)
        XCTAssertThrowsError(
            try HeadProber.run(synthetic(questions: 4), settings: settings, modelFile: "m", cacheDirectory: "c")
        ) { error in
            guard let split = error as? ProbeSplitError else { return XCTFail("\(error)") }
            XCTAssertEqual(split.fold, ProbeFoldSizes(fold: 0, train: 2, validation: 0, heldOut: 2))
            XCTAssertEqual(split.minimumQuestionCount, 6)
            XCTAssertEqual(split.minimumValidationFraction ?? 0, 0.3, accuracy: 1e-9)
            let text = split.description
            for part in ["4 questions", "2 folds", "fold 0", "0 for validation", "--questions 6",
                         "--validation-fraction 0.3"] {
                XCTAssertTrue(text.contains(part), "'\(part)' not in: \(text)")
            }
        }
        // The same check, without activations, is what `locus probe` runs before collecting.
        XCTAssertThrowsError(try HeadProber.checkSplits(questionCount: 4, settings: settings))
        XCTAssertNoThrow(try HeadProber.checkSplits(questionCount: 6, settings: settings))
        var wider = settings
        wider.validationFraction = 0.3
        XCTAssertNoThrow(try HeadProber.checkSplits(questionCount: 4, settings: wider))
    }

    /// Fewer questions than folds (previously a precondition failure in `QuestionSplit.folds`),
    /// and a fraction so large that no question is left for the probes, are errors too.
    func testFewerQuestionsThanFoldsAndEmptyTrainingSplitsAreErrors() throws {
        XCTAssertThrowsError(
            try HeadProber.run(synthetic(questions: 1), settings: ProbeSettings(), modelFile: "m", cacheDirectory: "c")
        ) { error in
            guard let split = error as? ProbeSplitError else { return XCTFail("\(error)") }
            XCTAssertNil(split.fold)
            XCTAssertTrue(split.description.contains("cannot be cut into 2 question folds"), split.description)
        }
        var settings = ProbeSettings()
        settings.validationFraction = 0.9
        XCTAssertThrowsError(try HeadProber.checkSplits(questionCount: 4, settings: settings)) { error in
            let split = error as! ProbeSplitError
            XCTAssertEqual(split.fold?.train, 0)
            XCTAssertTrue(split.description.contains("at least one training question"), split.description)
        }
        // A restricted ranking is checked on the subset's question count.
        let subset = QuestionSubset(label: "two questions", ids: [0, 1])
        XCTAssertThrowsError(
            try HeadProber.run(synthetic(), settings: ProbeSettings(), modelFile: "m", cacheDirectory: "c", questions: subset))
    }

    /// `foldSizes` predicts the splits `run` makes (so the check before collection is the real
    /// one), and every accepted setting gives finite accuracies and a ranking file that encodes.
    func testFoldSizesMatchTheSplitsAndSmallRunsWork() throws {
        for questions in [6, 7, 9, 13] {
            let activations = synthetic(questions: questions)
            for fraction in [0.2, 0.35, 0.5] {
                for folds in [2, 3] {
                    var settings = ProbeSettings(seed: 5, foldCount: folds, validationFraction: fraction)
                    settings.topK = 2
                    let sizes = HeadProber.foldSizes(questionCount: questions, settings: settings)
                    guard (try? HeadProber.checkSplits(questionCount: questions, settings: settings)) != nil else {
                        XCTAssertThrowsError(
                            try HeadProber.run(activations, settings: settings, modelFile: "m", cacheDirectory: "c"))
                        XCTAssertTrue(sizes.contains { $0.train == 0 || $0.validation == 0 })
                        continue
                    }
                    let ranking = try HeadProber.run(activations, settings: settings, modelFile: "m", cacheDirectory: "c")
                    XCTAssertEqual(
                        ranking.folds.map {
                            ProbeFoldSizes(
                                fold: $0.fold, train: $0.trainQuestions.count,
                                validation: $0.validationQuestions.count, heldOut: $0.heldOutQuestions.count)
                        }, sizes, "\(questions) questions, \(folds) folds, fraction \(fraction)")
                    XCTAssertTrue(ranking.heads.allSatisfy { $0.accuracy.isFinite })
                    let url = FileManager.default.temporaryDirectory
                        .appendingPathComponent("probe-small-\(questions)-\(folds)-\(fraction).json")
                    try ranking.write(to: url)
                    try? FileManager.default.removeItem(at: url)
                }
            }
        }
    }
}
