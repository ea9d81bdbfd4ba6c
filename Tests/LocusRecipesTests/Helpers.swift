import LocusCore
import Foundation
import LocusRecipes
import XCTest

/// A fresh temporary folder per test.
func temporaryDirectory(_ name: String = #function) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("locus-recipes-tests-\(ProcessInfo.processInfo.processIdentifier)")
        .appendingPathComponent(name.filter { $0.isLetter || $0.isNumber })
    try? FileManager.default.removeItem(at: url)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

let smallShape = ModelShape(layerCount: 30, headCount: 9)

/// A small recipe: top-4 + 6 random 4-sets + 3 single heads, ITI over 3 α and IPO over 2 τ.
func sampleRecipeJSON(name: String = "tiny", metrics: [String] = ["mc", "generation", "sideEffects"]) -> String {
    """
    {
      "comment": "a tiny sweep for tests",
      "name": "\(name)",
      "variant": "quick",
      "seeds": [0],
      "data": {"questions": 10, "comment": "comments are allowed in every object"},
      "headSets": [
        {"kind": "top", "k": 4, "ranking": "ranking.json"},
        {"kind": "random", "k": 4, "count": 6, "seed": 0},
        {"kind": "randomSingle", "count": 3, "seed": 1, "name": "single"}
      ],
      "methods": [
        {"kind": "iti", "alpha": [0, 10, 20], "ranking": "ranking.json"},
        {"kind": "ipo", "tau": [0.1, 0.3], "headSets": ["top", "single"]}
      ],
      "metrics": [\(metrics.map { "\"\($0)\"" }.joined(separator: ", "))]
    }
    """
}

/// A ranking whose best heads are L0H0, L1H1, …
func fakeRankings(_ path: String) throws -> RankingHeads {
    let heads = (0..<30).map { "L\($0)H\($0 % 9)" }
    return RankingHeads(heads: heads, folds: [heads, Array(heads.reversed())])
}

func sampleRuns(name: String = "tiny", metrics: [String] = ["mc", "generation", "sideEffects"]) throws -> [RunSpec] {
    let recipe = try Recipe.parse(try JSONValue.parse(sampleRecipeJSON(name: name, metrics: metrics)))
    return try RecipeExpansion.runs(recipe, shape: smallShape, rankings: fakeRankings)
}

/// Deterministic fake metrics from the run ID (as `locus run --executor fake` does).
var fakeExecutor: ClosureExecutor { ClosureExecutor { run in
    let h = UInt64(run.runID.prefix(15), radix: 16)!
    let u = Double(h & 0xFFFF) / 65535, v = Double((h >> 16) & 0xFFFF) / 65535
    let a = run.number("alpha").map { $0 / 20 } ?? run.number("tau") ?? 0.5
    let truth = 0.3 + 0.3 * a + (run.headSet?.kind == "top" ? 0.2 : 0) + 0.1 * u
    let info = 0.95 - 0.3 * a * a + 0.05 * v
    return [
        "truth_bleu_acc": .number(truth), "info_nonrefusal": .number(info),
        "truth_times_info": .number(truth * info), "mc2": .number(0.3 + 0.1 * u), "kl": .number(0.1 * a),
        "truth_per_question": .array((0..<10).map { .number(Double(($0 + Int(h % 7)) % 2)) }),
        "info_per_question": .array((0..<10).map { _ in .number(1) }),
    ]
} }
