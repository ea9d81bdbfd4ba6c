import LocusCore
import Foundation
import LocusRecipes
import XCTest

/// Recipe values that used to trap at run time or record "ok" runs with nothing behind them
/// (issue 10) are errors at load, naming the field.
final class RecipeValidationTests: XCTestCase {
    func error(_ text: String) -> String {
        do {
            let recipe = try Recipe.parse(try JSONValue.parse(text))
            _ = try RecipeExpansion.runs(recipe, shape: smallShape, rankings: fakeRankings)
            return "no error"
        } catch { return "\(error)" }
    }

    func recipe(headSets: String = #"[{"kind": "all"}]"#, method: String, seeds: String = "[0]", name: String = "v") -> String {
        #"{"name": "\#(name)", "seeds": \#(seeds), "headSets": \#(headSets), "methods": [\#(method)]}"#
    }

    func testNegativeAndZeroCountsAreLoadErrorsNamingTheField() {
        XCTAssertEqual(
            error(recipe(method: #"{"kind": "ipo", "tau": [0.1], "epochs": -1}"#)),
            "methods[0].epochs: must be at least 1, got -1")
        XCTAssertEqual(
            error(recipe(method: #"{"kind": "ipo", "tau": [0.1], "epochs": 0}"#)),
            "methods[0].epochs: must be at least 1, got 0")
        XCTAssertEqual(
            error(recipe(method: #"{"kind": "dpo", "beta": [0.1], "batchSize": 0}"#)),
            "methods[0].batchSize: must be at least 1, got 0")
        XCTAssertEqual(
            error(recipe(method: #"{"kind": "ipo", "tau": [0.1, 0]}"#)),
            "methods[0].tau[1]: must be greater than 0, got 0")
        XCTAssertEqual(
            error(recipe(method: #"{"kind": "ipo", "tau": [0.1], "lr": [0.001, -1]}"#)),
            "methods[0].lr[1]: must not be negative")
        XCTAssertEqual(
            error(recipe(method: #"{"kind": "ablate", "ablation": ["zero"], "items": -5}"#)),
            "methods[0].items: must be at least 1, got -5")
        XCTAssertEqual(
            error(recipe(method: #"{"kind": "ablate", "ablation": ["zero"], "task": "induction", "length": 0}"#)),
            "methods[0].length: must be at least 1, got 0")
        XCTAssertEqual(
            error(recipe(method: #"{"kind": "scrub", "items": -5}"#)),
            "methods[0].items: must be at least 1, got -5")
        XCTAssertEqual(
            error(recipe(method: #"{"kind": "scrub", "length": 0}"#)), "methods[0].length: must be at least 1, got 0")
        XCTAssertEqual(
            error(recipe(method: #"{"kind": "scrub", "bootstrap": 0}"#)),
            "methods[0].bootstrap: must be at least 1, got 0")
        XCTAssertEqual(
            error(recipe(method: #"{"kind": "scrub", "dataSeed": -1}"#)), "methods[0].dataSeed: must be at least 0, got -1")
        XCTAssertEqual(
            error(recipe(method: #"{"kind": "iti", "alpha": [1], "ranking": "r.json"}"#, seeds: "[0, -1]")),
            "seeds[1]: must be ≥ 0, got -1")
        XCTAssertEqual(
            error(#"{"name": "v", "data": {"maxNewTokens": 0}, "methods": [{"kind": "trace"}]}"#),
            "data.maxNewTokens: must be at least 1, got 0")
        XCTAssertEqual(
            error(recipe(headSets: #"[{"kind": "random", "k": 2, "count": 3, "seed": -4}]"#, method: #"{"kind": "iti", "alpha": [1], "ranking": "r"}"#)),
            "headSets[0].seed: must be ≥ 0, got -4")
    }

    func testAbsurdSizesAreRejectedAtLoad() {
        XCTAssertEqual(
            error(recipe(method: #"{"kind": "scrub", "items": 1000000000}"#)),
            "methods[0].items: must be at most 100000, got 1000000000")
        XCTAssertEqual(
            error(recipe(method: #"{"kind": "ipo", "tau": [0.1], "epochs": 99999999}"#)),
            "methods[0].epochs: must be at most 10000, got 99999999")
    }

    func testAbsurdHeadSetCountIsRejectedBeforeAllocation() {
        XCTAssertEqual(
            error(recipe(headSets: #"[{"kind": "random", "k": 16, "count": 1000000000}]"#, method: #"{"kind": "iti", "alpha": [1], "ranking": "r"}"#)),
            "headSets[0].count: must be at most \(HeadSetGenerator.maximumHeadSets), got 1000000000")
        XCTAssertEqual(
            error(recipe(headSets: #"[{"kind": "randomSingle", "count": 1000000000}]"#, method: #"{"kind": "iti", "alpha": [1], "ranking": "r"}"#)),
            "headSets[0].count: must be at most \(HeadSetGenerator.maximumHeads), got 1000000000")
        // Within the per-generator limit, a grid that multiplies past the run limit is refused
        // by counting, not by building the runs.
        let alphas = (0..<1000).map(String.init).joined(separator: ",")
        let seeds = "[" + (0..<200).map(String.init).joined(separator: ",") + "]"
        let big = recipe(
            headSets: #"[{"kind": "random", "k": 2, "count": 10000}]"#,
            method: #"{"kind": "iti", "alpha": [\#(alphas)], "ranking": "r"}"#, seeds: seeds)
        XCTAssertTrue(error(big).hasPrefix("methods[0]: the recipe expands to more than"), error(big))
    }

    func testRecipeNameMustBeAPlainFileName() {
        for bad in ["../escape", "a/b", "..", ".hidden", "sweeps\\\\x"] {
            XCTAssertTrue(
                error(recipe(method: #"{"kind": "trace"}"#, name: bad)).hasPrefix("name: '"),
                "\(bad): \(error(recipe(method: #"{"kind": "trace"}"#, name: bad)))")
        }
        XCTAssertEqual(error(recipe(method: #"{"kind": "trace"}"#, name: "wv-fig1_quick.v2")), "no error")
    }

    /// Every recipe shipped in Recipes/ still loads under the stricter rules.
    func testShippedRecipesStillLoad() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Recipes")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }
        XCTAssertFalse(files.isEmpty)
        var loaded = 0
        for f in files {
            let url = dir.appendingPathComponent(f)
            guard let text = try? String(contentsOf: url, encoding: .utf8), text.contains("\"methods\"") else { continue }
            XCTAssertNoThrow(try Recipe.load(url), f)
            loaded += 1
        }
        XCTAssertGreaterThan(loaded, 10)
    }

    /// `--dry-run` reads without the lock: it works while a sweep holds the file.
    func testReadOnlyResultsFileTakesNoLockAndCreatesNothing() throws {
        let dir = try temporaryDirectory()
        let url = dir.appendingPathComponent("r.jsonl")
        let writer = try ResultsFile(url: url)
        let runs = try sampleRuns()
        try writer.append(RunRecord(spec: runs[0], status: "ok", metrics: .emptyObject, seconds: 1, finished: "t", shard: "0/1"))
        XCTAssertThrowsError(try ResultsFile(url: url), "a second writer must be refused")
        let reader = try ResultsFile(readingOnly: url)
        XCTAssertEqual(reader.records.map(\.runID), [runs[0].runID])
        XCTAssertThrowsError(try reader.append(writer.records[0]))
        let missing = dir.appendingPathComponent("none.jsonl")
        XCTAssertEqual(try ResultsFile(readingOnly: missing).records.count, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing.path))
    }
}
