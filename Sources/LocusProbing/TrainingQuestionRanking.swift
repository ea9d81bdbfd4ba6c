import Foundation
import LocusData

extension ProbeRanking {
    /// The settings this ranking was made with.
    public var settings: ProbeSettings {
        ProbeSettings(
            seed: seed, foldCount: foldCount, validationFraction: validationFraction, c: c, topK: topK,
            directionData: directionData ?? .trainAndValidation)
    }

    /// This ranking redone on `subset`'s questions only, from its own activation cache and
    /// settings (issue 11, item 5): e.g. IPO's training questions, so that "top-K" heads for
    /// IPO are chosen by probes that never saw a validation or test question of IPO's split.
    /// (The file's own `heads` average both probe folds, whose labels cover every question.)
    public func restricted(to subset: QuestionSubset) throws -> ProbeRanking {
        let directory = URL(fileURLWithPath: activationCache.directory)
        guard let activations = try HeadActivations.load(directory: directory, key: activationCache.key) else {
            throw DataError(
                file: directory.path,
                problem: "the activation cache \(activationCache.key) of this ranking is missing; "
                    + "run `locus probe` again to recreate it")
        }
        let missing = Set(subset.ids).subtracting(activations.header.questionIDs)
        guard missing.isEmpty else {
            throw DataError(
                file: directory.path,
                problem: "the activation cache has no samples of \(missing.count) of the \(subset.ids.count) questions of \(subset.label)")
        }
        return try HeadProber.run(
            activations, settings: settings, modelFile: model.file, cacheDirectory: activationCache.directory,
            questions: subset)
    }
}
