import LocusCore
import Foundation
import LocusEvaluation
import LocusInterventions
import LocusProbing
import LocusRecipes

/// ITI (METHODS.md §2): z[l,h] += α·σ·θ at the run's heads, evaluated on each probe fold's
/// held-out questions with that fold's directions and σ (top sets use each fold's own top-k).
/// `data.questions` caps the held-out questions in total (split evenly over folds, lowest IDs).
public final class ITIExecutor: RunExecutor {
    public let evaluation: TruthfulQARunEvaluator
    private var rankings: [String: ProbeRanking] = [:]
    private var activations: [String: HeadActivations] = [:]
    /// α = 0 adds exact zeros, so every head set gives the unedited model's numbers: computed
    /// once per (ranking, data, metrics) and copied into the other α = 0 runs.
    private var unedited: [String: [String: JSONValue]] = [:]

    public init(evaluation: TruthfulQARunEvaluator) { self.evaluation = evaluation }

    public func execute(_ run: RunSpec) throws -> [String: JSONValue] {
        guard let path = run.string("ranking"), let alpha = run.number("alpha"), let headSet = run.headSet else {
            throw ExperimentError("an iti run needs ranking, alpha and a head set")
        }
        if rankings[path] == nil { rankings[path] = try ProbeRanking.load(URL(fileURLWithPath: path)) }
        let ranking = rankings[path]!
        guard ranking.model.sha256 == evaluation.modelSHA else {
            throw ExperimentError("\(path) was made with model sha256 \(ranking.model.sha256), not this model")
        }
        let kind: DirectionKind
        switch run.string("direction") ?? "massMean" {
        case "probe": kind = .probe
        case "random": kind = .random
        default: kind = .massMean
        }
        var acts: HeadActivations? = nil
        if kind == .random {
            if activations[path] == nil {
                activations[path] = try HeadActivations.load(
                    directory: URL(fileURLWithPath: ranking.activationCache.directory), key: ranking.activationCache.key)
            }
            acts = activations[path]
        }
        let uneditedKey = [path, run.data.json.canonicalText, run.metrics.joined(separator: ",")].joined(separator: "|")
        if alpha == 0, var m = unedited[uneditedKey] {
            m["unedited_copied"] = .bool(true)
            m["heads_per_fold"] = .array(ranking.folds.indices.map { f in
                .array((headSet.perFold.map { $0[f] } ?? headSet.heads).map(JSONValue.string))
            })
            return m
        }
        let folds = ranking.folds.count
        let perFold = run.data.questions > 0 ? (run.data.questions + folds - 1) / folds : 0
        var groups: [TruthfulQARunEvaluator.Group] = []
        var foldHeads: [JSONValue] = []
        for f in 0..<folds {
            var ids = ranking.folds[f].heldOutQuestions.sorted()
            if perFold > 0 { ids = Array(ids.prefix(perFold)) }
            let names = headSet.perFold.map { $0[f] } ?? headSet.heads
            let edit = try ITIEdit.make(
                ranking: ranking, fold: f, heads: try headIDs(names), direction: kind, alpha: alpha,
                seed: UInt64(run.seed), activations: acts, selection: headSet.selection)
            foldHeads.append(.array(names.map(JSONValue.string)))
            groups.append(.init(questionIDs: ids, intervention: .standard(name: "ITI") { [edit.hook(positions: $0)] }))
        }
        var m = try evaluation.evaluate(groups, run: run)
        m["heads_per_fold"] = .array(foldHeads)
        m["positions"] = JSONValue(StandardPositions.descriptions.mapValues(JSONValue.string))
        if alpha == 0 { unedited[uneditedKey] = m }
        return m
    }
}

/// Heads from head names (`L12H3`, `AttentionHead`'s one parser); the error names the bad one.
func headIDs(_ names: [String]) throws -> [AttentionHead] {
    try names.map { name in
        guard let head = AttentionHead(name) else { throw ExperimentError("'\(name)' is not a head name") }
        return head
    }
}
