import Foundation
import LocusData
import LocusModel
import LocusRecipes
import LocusScrubbing

/// The data set of an ablation or scrubbing study: `induction` (repeated random token blocks,
/// loss on the second copy) or `truthfulqa` (the MC log-prob margin true − false on a seeded
/// sample of questions). `locus scrub`/`locus ablate` fill it from options, `locus run` from a
/// run's parameters.
public struct ScrubTask: Sendable {
    /// induction or truthfulqa.
    public var task: String
    /// Number of items (sequences or questions).
    public var count: Int
    /// Induction: length n of the repeated block.
    public var length: Int
    /// Seed of the data set (tokens or question sample).
    public var dataSeed: UInt64
    /// Induction: token id range `lo:hi`.
    public var tokenRange: String
    /// Data folder (nil: `dataLocation(nil)`).
    public var data: String?

    public init(
        task: String = "induction", count: Int = 24, length: Int = 16, dataSeed: UInt64 = 1,
        tokenRange: String = "1000:20000", data: String? = nil
    ) {
        self.task = task
        self.count = count
        self.length = length
        self.dataSeed = dataSeed
        self.tokenRange = tokenRange
        self.data = data
    }

    /// The task of a `scrub` or `ablate` run (MethodSchema's `task`, `items`, `dataSeed`, `length`).
    public init(run: RunSpec, data: String?) {
        self.init(
            task: run.string("task") ?? "truthfulqa", count: run.number("items").map(Int.init) ?? 24,
            length: run.number("length").map(Int.init) ?? 16, dataSeed: UInt64(run.number("dataSeed") ?? 1),
            data: data)
    }

    /// Identifies the items a task produces (for caching scores across runs).
    public var key: String { "\(task)|\(count)|\(dataSeed)|\(length)" }

    /// The task's items for `lm`'s tokenizer.
    public func items(_ lm: LanguageModel) throws -> [ScrubItem] {
        switch task {
        case "induction":
            let parts = tokenRange.split(separator: ":").compactMap { Int($0) }
            guard parts.count == 2, parts[0] < parts[1] else { throw ExperimentError("--token-range lo:hi") }
            return InductionTask.items(
                count: count, length: length, seed: dataSeed, tokenRange: parts[0]..<parts[1],
                bos: lm.config.bosTokenID)
        case "truthfulqa":
            let tqa = try TruthfulQA.load(from: try dataLocation(data))
            let order = QuestionSplit.permutation(count: tqa.count, seed: dataSeed)
            let questions = tqa.questions(ids: Array(order.prefix(count)))
            return TruthfulQATask.items(questions: questions, tokenizer: lm.tokenizer)
        default: throw ExperimentError("--task must be induction or truthfulqa")
        }
    }
}
