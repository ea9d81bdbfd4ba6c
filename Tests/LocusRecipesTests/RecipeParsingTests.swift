import LocusCore
import Foundation
import LocusRecipes
import XCTest

final class RecipeParsingTests: XCTestCase {
    func parse(_ text: String) throws -> Recipe { try Recipe.parse(try JSONValue.parse(text)) }

    func error(_ text: String) -> String {
        do {
            _ = try parse(text)
            return "no error"
        } catch { return "\(error)" }
    }

    func testSampleRecipeParsesWithDefaultsAndComments() throws {
        let r = try parse(sampleRecipeJSON())
        XCTAssertEqual(r.name, "tiny")
        XCTAssertEqual(r.model, "default")
        XCTAssertEqual(r.variant, .quick)
        XCTAssertEqual(r.data.questions, 10)
        XCTAssertEqual(r.data.sideEffectDocuments, 100)
        XCTAssertEqual(r.headSets.map(\.name), ["top", "random", "single"])
        XCTAssertEqual(r.methods.map(\.kind), ["iti", "ipo"])
        XCTAssertEqual(r.methods[0].axes, ["alpha"])
        XCTAssertEqual(r.methods[0].settings().count, 3)
        // Defaults are filled in, so the run spec says everything.
        XCTAssertEqual(r.methods[0].settings()[1]["direction"], "massMean")
        XCTAssertEqual(r.methods[1].settings()[0]["epochs"], 2)
    }

    func testErrorsNameTheFieldPath() {
        let base = """
            {"name": "x", "headSets": [{"kind": "all"}], "methods": [
              {"kind": "iti", "alpha": [1], "ranking": "r.json"}, METHOD]}
            """
        func with(_ method: String) -> String { base.replacingOccurrences(of: "METHOD", with: method) }
        XCTAssertEqual(
            error(with(#"{"kind": "iti", "alpha": 5, "ranking": "r.json"}"#)),
            "methods[1].alpha: expected an array of numbers")
        XCTAssertEqual(
            error(with(#"{"kind": "iti", "alpha": [1, "x"], "ranking": "r.json"}"#)),
            "methods[1].alpha: expected an array of numbers")
        XCTAssertEqual(error(with(#"{"kind": "iti", "alpha": [1]}"#)), "methods[1].ranking: required field is missing")
        XCTAssertTrue(error(with(#"{"kind": "iti", "alhpa": [1], "ranking": "r"}"#)).hasPrefix("methods[1].alhpa: unknown field"))
        XCTAssertTrue(error(with(#"{"kind": "magic"}"#)).hasPrefix("methods[1].kind: unknown method 'magic'"))
        XCTAssertEqual(
            error(with(#"{"kind": "ipo", "tau": [0.1], "epochs": 1.5}"#)), "methods[1].epochs: expected an integer")
        XCTAssertTrue(
            error(with(#"{"kind": "ipo", "tau": [0.1], "parameterization": "dense"}"#))
                .hasPrefix("methods[1].parameterization: expected one of"))
        XCTAssertTrue(
            error(with(#"{"kind": "ipo", "tau": [0.1], "headSets": ["nope"]}"#))
                .hasPrefix("methods[1].headSets[0]: no head set named 'nope'"))
        XCTAssertEqual(error(#"{"name": "x", "methods": []}"#), "methods: expected a non-empty array of methods")
        XCTAssertEqual(error(#"{"methods": []}"#), "name: required field is missing")
        XCTAssertTrue(
            error(#"{"name": "x", "variant": "medium", "methods": [{"kind": "trace"}]}"#)
                .hasPrefix("variant: expected \"quick\" or \"full\""))
        XCTAssertEqual(
            error(#"{"name": "x", "headSets": [{"kind": "random", "k": 0, "count": 2}], "methods": [{"kind": "trace"}]}"#),
            "headSets[0].k: must be at least 1, got 0")
        XCTAssertEqual(
            error(#"{"name": "x", "headSets": [{"kind": "explicit", "heads": ["L1H2", "head 3"]}], "methods": [{"kind": "trace"}]}"#),
            "headSets[0].heads[1]: 'head 3' is not a head name like L12H3")
        XCTAssertEqual(
            error(#"{"name": "x", "data": {"questions": -1}, "methods": [{"kind": "trace"}]}"#),
            "data.questions: must be ≥ 0")
        XCTAssertEqual(
            error(#"{"name": "x", "metrics": ["mc", "bleurt"], "methods": [{"kind": "trace"}]}"#),
            "metrics[1]: unknown metric group 'bleurt' (known: mc, generation, sideEffects)")
        XCTAssertEqual(
            error(#"{"name": "x", "comment": 3, "methods": [{"kind": "trace"}]}"#),
            "comment: expected a string or an array of strings")
    }

    /// `scrub` has a strict schema: defaults filled in, unknown or mistyped fields named.
    func testScrubSchemaFillsDefaultsAndRejectsUnknownFields() throws {
        let r = try parse(#"{"name": "s", "headSets": [{"kind": "all"}], "methods": [{"kind": "scrub", "items": 8}]}"#)
        let run = r.methods[0].settings()[0]
        XCTAssertEqual(run["task"], "truthfulqa")
        XCTAssertEqual(run["items"], 8)
        XCTAssertEqual(run["baseline"], "random", "sweeps default to Redwood's L_random (issue 11)")
        XCTAssertEqual(run["keep"], "embedAndMLPs")
        XCTAssertEqual(run["bootstrap"], 1000)
        XCTAssertEqual(
            error(#"{"name": "s", "methods": [{"kind": "scrub", "itmes": 8}]}"#).contains("methods[0].itmes"), true)
        XCTAssertEqual(
            error(#"{"name": "s", "methods": [{"kind": "scrub", "task": "sst2"}]}"#).contains("methods[0].task"), true)
        // ablate: the ablation kind is a required grid axis.
        let a = try parse(#"{"name": "a", "headSets": [{"kind": "all"}], "methods": [{"kind": "ablate", "ablation": ["zero", "mean"]}]}"#)
        XCTAssertEqual(a.methods[0].settings().map { $0["ablation"] }, ["zero", "mean"])
        XCTAssertEqual(error(#"{"name": "a", "methods": [{"kind": "ablate"}]}"#).contains("methods[0].ablation"), true)
    }

    func testLoadErrorsNameTheFile() throws {
        let dir = try temporaryDirectory()
        let url = dir.appendingPathComponent("bad.json")
        try #"{"name": "x", "methods": [{"kind": "iti", "alpha": 3, "ranking": "r"}], "headSets": [{"kind":"all"}]}"#
            .write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Recipe.load(url)) { e in
            XCTAssertEqual("\(e)", "\(url.path): methods[0].alpha: expected an array of numbers")
        }
        try "{\"name\": \"x\",\n \"methods\": [}".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Recipe.load(url)) { e in XCTAssertTrue("\(e)".contains("bad.json:2:"), "\(e)") }
    }

    func testOpenKindsExpandEveryArray() throws {
        let r = try parse(#"{"name": "t", "methods": [{"kind": "rome", "layer": [3, 5, 7], "steps": 20, "mode": ["a", "b"]}]}"#)
        XCTAssertEqual(r.methods[0].settings().count, 6)
        let runs = try RecipeExpansion.runs(r, shape: smallShape)
        XCTAssertEqual(runs.count, 6)
        XCTAssertNil(runs[0].headSet)
        XCTAssertEqual(runs[0].parameters, .object(["layer": 3, "steps": 20, "mode": "a"]))
        // A method module can register its own schema.
        var schemas = MethodSchema.builtIn
        schemas["rome"] = MethodSchema(
            kind: "rome", parameters: [.init("layer", .integer, grid: true, required: true)], usesHeadSets: false)
        XCTAssertThrowsError(try Recipe.parse(try JSONValue.parse(#"{"name": "t", "methods": [{"kind": "rome", "layer": [1.5]}]}"#), schemas: schemas)) {
            XCTAssertEqual("\($0)", "methods[0].layer: expected an array of integers")
        }
    }

    func testEveryRecipeInTheRepositoryParses() throws {
        let dir = packageRoot.appendingPathComponent("Recipes")
        // Other analyses keep their own files in Recipes/ too; sweep recipes declare their format.
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }
            .filter { f in
                let text = try? String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
                return (try? JSONValue.parse(text ?? ""))?["format"]?.string == "locus.recipe/1"
            }.sorted()
        XCTAssertEqual(files.filter { $0.hasPrefix("wv-fig") }.count, 18, "\(files)")
        for f in files {
            let r = try Recipe.load(dir.appendingPathComponent(f))
            XCTAssertEqual(r.name + ".json", f)
            // Figure recipes come in pairs named -quick/-full; other sweeps (e.g. scrubbing) may not.
            if f.contains("-quick") || f.contains("-full") {
                XCTAssertEqual(r.variant.rawValue, f.contains("-quick") ? "quick" : "full", f)
            }
            if f.hasPrefix("wv-fig") { XCTAssertNotNil(r.figure, f) }
            // Expands with a stand-in ranking (the real one is made by `locus probe`).
            let runs = try RecipeExpansion.runs(r, shape: smallShape, rankings: fakeRankings)
            XCTAssertFalse(runs.isEmpty, f)
        }
    }

    func testQuickFigureRecipesShareTheirRuns() throws {
        let dir = packageRoot.appendingPathComponent("Recipes")
        var runs: [Int: [RunSpec]] = [:]
        for n in 1...9 {
            let r = try Recipe.load(dir.appendingPathComponent("wv-fig\(n)-quick.json"))
            runs[n] = try RecipeExpansion.runs(r, shape: smallShape, rankings: fakeRankings)
        }
        // One data block everywhere, so equal computations get equal IDs across recipes.
        XCTAssertEqual(Set(runs.values.flatMap { $0.map(\.data) }).count, 1)
        func covered(_ n: Int, by m: [Int]) -> [RunSpec] {
            let have = m.flatMap { runs[$0]! }
            return runs[n]!.filter { run in
                !have.contains { $0.computationText == run.computationText && Set(run.metrics).isSubset(of: Set($0.metrics)) }
            }
        }
        XCTAssertEqual(covered(2, by: [1]).count, 0)
        XCTAssertEqual(covered(3, by: [1]).count, 0)
        XCTAssertEqual(covered(9, by: [6]).count, 0)
        // Figure 4 adds only IPO at all heads; figure 8 only single heads at the second τ.
        XCTAssertEqual(Set(covered(4, by: [1, 6]).map { $0.headSet?.kind ?? "" }), ["all"])
        XCTAssertEqual(Set(covered(8, by: [6, 7]).map { $0.headSet?.kind ?? "" }), ["randomSingle"])
        // Histograms need at least 5 random sets.
        for n in [1, 5, 7] {
            XCTAssertGreaterThanOrEqual(
                Set(runs[n]!.compactMap { $0.headSet }.filter { $0.kind.hasPrefix("random") }.map(\.selection)).count, 5)
        }
    }
}
