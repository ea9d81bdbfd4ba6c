import Foundation
import LocusCore
import LocusRecipes
import XCTest

/// YAML recipes: the same schema as JSON, the same runs, the same errors with line numbers.
final class RecipeYAMLTests: XCTestCase {
    func write(_ text: String, _ name: String, in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try AtomicFile.write(text, to: url)
        return url
    }

    func loadError(_ url: URL) -> String {
        do {
            _ = try Recipe.load(url)
            return "no error"
        } catch { return "\(error)" }
    }

    /// Recipes/demo.yaml is demo.json in YAML: equal recipes, and runs identical to the byte
    /// (run IDs, specs, order).
    func testTheYAMLTwinOfTheDemoExpandsToIdenticalRuns() throws {
        let dir = packageRoot.appendingPathComponent("Recipes")
        let json = try Recipe.load(dir.appendingPathComponent("demo.json"))
        let yaml = try Recipe.load(dir.appendingPathComponent("demo.yaml"))
        XCTAssertEqual(yaml, json)
        let a = try RecipeExpansion.runs(json, shape: smallShape, rankings: fakeRankings)
        let b = try RecipeExpansion.runs(yaml, shape: smallShape, rankings: fakeRankings)
        XCTAssertEqual(a.count, 7)
        XCTAssertEqual(b.map(\.runID), a.map(\.runID))
        XCTAssertEqual(b.map(\.json.text), a.map(\.json.text))
    }

    /// The sample recipe of these tests, in YAML flow style (YAML is a superset of JSON) and in
    /// block style, expands like the JSON text.
    func testBlockAndFlowYAMLMatchJSON() throws {
        let dir = try temporaryDirectory()
        let jsonRuns = try sampleRuns()
        let flow = try write(sampleRecipeJSON(), "flow.yaml", in: dir)
        XCTAssertEqual(try RecipeExpansion.runs(try Recipe.load(flow), shape: smallShape, rankings: fakeRankings).map(\.runID),
                       jsonRuns.map(\.runID))
        let block = """
            name: x
            seeds: [0, 1]
            data: {questions: 10, splitSeed: 3}
            headSets:
              - kind: explicit
                heads: [l1h2, L0H1]   # either case, as on the command line
            methods:
              - kind: iti
                alpha: [0, 1.5, 15]
                ranking: r.json
            """
        let asJSON = """
            {"name": "x", "seeds": [0, 1], "data": {"questions": 10, "splitSeed": 3},
             "headSets": [{"kind": "explicit", "heads": ["l1h2", "L0H1"]}],
             "methods": [{"kind": "iti", "alpha": [0, 1.5, 15], "ranking": "r.json"}]}
            """
        let y = try Recipe.load(try write(block, "block.yml", in: dir))
        let j = try Recipe.load(try write(asJSON, "block.json", in: dir))
        XCTAssertEqual(y, j)
        let runs = try RecipeExpansion.runs(y, shape: smallShape, rankings: fakeRankings)
        XCTAssertEqual(runs.map(\.runID), try RecipeExpansion.runs(j, shape: smallShape, rankings: fakeRankings).map(\.runID))
        XCTAssertEqual(runs.count, 6)
        XCTAssertEqual(runs[0].headSet?.heads, ["L0H1", "L1H2"], "head names are printed in one form")
        // 15 stays an integer and 1.5 a number, in both forms.
        XCTAssertEqual(y.methods[0].parameters["alpha"], [0, 1.5, 15])
        XCTAssertTrue(runs.contains { $0.json.text.contains(#""alpha":15"#) })
    }

    /// Field errors are word for word the JSON ones (they name the field path).
    func testSchemaErrorsAreTheSameInBothForms() throws {
        let dir = try temporaryDirectory()
        let cases: [(json: String, yaml: String)] = [
            (#"{"name": "x", "methods": [{"kind": "iti", "alpha": 5, "ranking": "r"}], "headSets": [{"kind": "all"}]}"#,
             "name: x\nmethods:\n  - {kind: iti, alpha: 5, ranking: r}\nheadSets: [{kind: all}]\n"),
            (#"{"name": "x", "methods": [{"kind": "iti", "alpha": [1], "ranking": "r"}], "headSets": [{"kind": "all"}], "sedes": [1]}"#,
             "name: x\nmethods: [{kind: iti, alpha: [1], ranking: r}]\nheadSets: [{kind: all}]\nsedes: [1]\n"),
            (#"{"name": "x"}"#, "name: x\n"),
            (#"{"name": "x", "seeds": ["0"], "methods": [{"kind": "fake"}]}"#,
             "name: x\nseeds: ['0']\nmethods: [{kind: fake}]\n"),
            (#"{"name": "x", "methods": [{"kind": "iti", "alpha": [1], "ranking": "r"}], "headSets": [{"kind": "explicit", "heads": ["L1X3"]}]}"#,
             "name: x\nmethods: [{kind: iti, alpha: [1], ranking: r}]\nheadSets: [{kind: explicit, heads: [L1X3]}]\n"),
        ]
        for (i, c) in cases.enumerated() {
            let j = loadError(try write(c.json, "c\(i).json", in: dir))
            let y = loadError(try write(c.yaml, "c\(i).yaml", in: dir))
            XCTAssertNotEqual(j, "no error", c.json)
            XCTAssertEqual(
                y.replacingOccurrences(of: "c\(i).yaml", with: "c\(i).json"), j, "case \(i)")
        }
    }

    /// Syntax errors name the file and the line, as JSON ones do.
    func testSyntaxErrorsNameTheLine() throws {
        let dir = try temporaryDirectory()
        let badIndent = try write("name: x\nmethods:\n  - kind: iti\n   alpha: [1]\n", "indent.yaml", in: dir)
        XCTAssertTrue(loadError(badIndent).contains("indent.yaml:4: "), loadError(badIndent))
        XCTAssertTrue(loadError(badIndent).contains("not valid YAML"), loadError(badIndent))
        let unclosed = try write("name: x\nseeds: [0, 1\nmethods: []\n", "unclosed.yaml", in: dir)
        XCTAssertTrue(loadError(unclosed).contains("unclosed.yaml:"), loadError(unclosed))
        let twice = try write("name: x\nmethods: [{kind: fake}]\nname: y\n", "twice.yaml", in: dir)
        XCTAssertTrue(loadError(twice).contains("twice.yaml:3: "), loadError(twice))
        XCTAssertTrue(loadError(twice).contains("appears twice"), loadError(twice))
        let twiceJSON = try write("{\"name\": \"x\",\n \"methods\": [{\"kind\": \"fake\"}],\n \"name\": \"y\"}", "twice.json", in: dir)
        XCTAssertTrue(loadError(twiceJSON).contains("twice.json:3: "), loadError(twiceJSON))
        XCTAssertTrue(loadError(twiceJSON).contains("appears twice"), loadError(twiceJSON))
        let nan = try write("name: x\nseeds: [.nan]\nmethods: [{kind: fake}]\n", "nan.yaml", in: dir)
        XCTAssertTrue(loadError(nan).contains("nan.yaml:2: "), loadError(nan))
    }
}
