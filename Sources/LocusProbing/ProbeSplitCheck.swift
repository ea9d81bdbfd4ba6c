import Foundation
import LocusData

/// The question counts of one probe fold: `heldOut` questions form the fold, the others are the
/// training fold, split into `train` (fits the probes) and `validation` (ranks the heads).
public struct ProbeFoldSizes: Equatable, Sendable {
    public var fold: Int
    public var train: Int
    public var validation: Int
    public var heldOut: Int

    public init(fold: Int, train: Int, validation: Int, heldOut: Int) {
        self.fold = fold
        self.train = train
        self.validation = validation
        self.heldOut = heldOut
    }
}

/// Why a probe run cannot rank heads with the given question count and settings.
///
/// Heads are ranked by validation accuracy only (METHODS.md §2), so a fold without validation
/// questions has no ranking (its accuracy would be 0/0); a fold without training questions has
/// no probe. Locus refuses such settings before collecting any activation instead of failing
/// (or writing NaN accuracies) after the collection, which on a 7B model takes many minutes.
public struct ProbeSplitError: Error, CustomStringConvertible, Equatable {
    public var questionCount: Int
    public var settings: ProbeSettings
    /// The first fold that has no training or no validation question (nil: fewer questions than folds).
    public var fold: ProbeFoldSizes?
    /// The smallest question count that works with these settings (nil: none up to 100,000).
    public var minimumQuestionCount: Int?
    /// The smallest validation fraction (in steps of 0.05) that works with this question count.
    public var minimumValidationFraction: Double?

    public var description: String {
        var text: String
        if let fold {
            text = "probe: \(questionCount) questions in \(settings.foldCount) folds leave fold \(fold.fold) "
                + "with \(fold.train + fold.validation) training-fold questions, split into \(fold.train) for the "
                + "probes and \(fold.validation) for validation (--validation-fraction "
                + "\(formatted(settings.validationFraction))); "
                + (fold.validation == 0
                    ? "validation accuracy ranks the heads, so every fold needs at least one validation question"
                    : "every fold needs at least one training question")
        } else {
            text = "probe: \(questionCount) questions cannot be cut into \(settings.foldCount) question folds"
        }
        var fixes: [String] = []
        if let n = minimumQuestionCount { fixes.append("--questions \(n) or more") }
        if let v = minimumValidationFraction {
            fixes.append("--validation-fraction \(formatted(v)) or more with \(questionCount) questions")
        }
        if settings.foldCount > 2 && questionCount >= 2 { fixes.append("fewer --folds") }
        if !fixes.isEmpty { text += "; use " + fixes.joined(separator: ", or ") }
        return text
    }

    private func formatted(_ x: Double) -> String {
        String(format: "%g", x)
    }
}

extension HeadProber {
    /// The train / validation / held-out question counts of every fold `run` would make from
    /// `questionCount` questions (the same arithmetic as `QuestionSplit.folds` and
    /// `QuestionSplit.partition`: fold f holds ⌊n/k⌋ (+1 for the first n mod k folds); its
    /// training fold of m questions gives round(m·(1 − v)) probe questions and the rest validate).
    /// Empty when there are fewer questions than folds.
    public static func foldSizes(questionCount n: Int, settings: ProbeSettings) -> [ProbeFoldSizes] {
        let k = settings.foldCount
        guard k >= 1, n >= k else { return [] }
        return (0..<k).map { f in
            let heldOut = n / k + (f < n % k ? 1 : 0)
            let m = n - heldOut
            let train = Int(((1 - settings.validationFraction) * Double(m)).rounded())
            return ProbeFoldSizes(fold: f, train: train, validation: m - train, heldOut: heldOut)
        }
    }

    /// Throws `ProbeSplitError` unless every fold of `questionCount` questions has at least one
    /// training and one validation question. Cheap: call it before collecting activations.
    public static func checkSplits(questionCount n: Int, settings: ProbeSettings) throws {
        if let error = splitError(questionCount: n, settings: settings) { throw error }
    }

    static func splitError(questionCount n: Int, settings: ProbeSettings) -> ProbeSplitError? {
        func bad(_ count: Int, _ s: ProbeSettings) -> ProbeFoldSizes?? {
            let sizes = foldSizes(questionCount: count, settings: s)
            if sizes.isEmpty { return .some(nil) }
            if let fold = sizes.first(where: { $0.train == 0 || $0.validation == 0 }) { return .some(fold) }
            return nil
        }
        guard let failure = bad(n, settings) else { return nil }
        let minimumCount = (max(n, settings.foldCount)...100_000).first { bad($0, settings) == nil }
        var minimumFraction: Double?
        for step in 1..<20 {
            var s = settings
            s.validationFraction = Double(step) * 0.05
            guard s.validationFraction > settings.validationFraction else { continue }
            if bad(n, s) == nil {
                minimumFraction = s.validationFraction
                break
            }
        }
        return ProbeSplitError(
            questionCount: n, settings: settings, fold: failure, minimumQuestionCount: minimumCount,
            minimumValidationFraction: minimumFraction)
    }
}
