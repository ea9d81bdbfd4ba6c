import LocusCore
import Foundation
import LocusRecipes
import XCTest

/// The Hase and interchange analyses as sweep methods (issue 14 item 4): one run per fact, the
/// recipe dialect of every other method, a cost per run, and the layer-list syntax.
final class AnalysisMethodTests: XCTestCase {
    func recipe(_ method: String) throws -> Recipe {
        try Recipe.parse(try JSONValue.parse(#"{"name": "t", "seeds": [0], "metrics": [], "methods": [\#(method)]}"#))
    }

    func testOneRunPerFactWithStableIDs() throws {
        let r = try recipe(#"{"kind": "hase", "facts": 5, "offset": 10, "layers": "0,6,12", "romeSteps": 10}"#)
        let runs = try RecipeExpansion.runs(r, shape: smallShape)
        XCTAssertEqual(runs.map { $0.number("fact") }, [0, 1, 2, 3, 4])
        XCTAssertEqual(Set(runs.map(\.runID)).count, 5)
        XCTAssertTrue(runs.allSatisfy { $0.number("offset") == 10 && $0.string("layers") == "0,6,12" })
        // Defaults are filled in and recorded (the run ID covers them).
        XCTAssertEqual(runs[0].string("file"), "counterfact/counterfact-val.json")
        XCTAssertEqual(runs[0].number("contexts"), 20)
        XCTAssertTrue(runs[0].label.hasPrefix("hase fact=0"), runs[0].label)
        // The same recipe expands to the same IDs; another offset to others.
        XCTAssertEqual(try RecipeExpansion.runs(r, shape: smallShape).map(\.runID), runs.map(\.runID))
        let moved = try recipe(#"{"kind": "hase", "facts": 5, "offset": 11, "layers": "0,6,12", "romeSteps": 10}"#)
        XCTAssertTrue(Set(try RecipeExpansion.runs(moved, shape: smallShape).map(\.runID)).isDisjoint(with: runs.map(\.runID)))
        let i = try recipe(#"{"kind": "interchange", "facts": 2, "layers": "all"}"#)
        XCTAssertEqual(try RecipeExpansion.runs(i, shape: smallShape).first?.string("file"), "knowns/known_1000.json")
    }

    func testBadAnalysisFieldsNameTheField() throws {
        XCTAssertThrowsError(try recipe(#"{"kind": "hase", "layers": "0"}"#)) {
            XCTAssertEqual("\($0)", "methods[0].facts: required field is missing")
        }
        XCTAssertThrowsError(try recipe(#"{"kind": "hase", "facts": 2, "layers": "0", "fact": [0]}"#)) {
            XCTAssertTrue("\($0)".hasPrefix("methods[0].fact: unknown field"), "\($0)")
        }
        XCTAssertThrowsError(try recipe(#"{"kind": "interchange", "facts": 2, "layers": "0", "window": 3}"#)) {
            XCTAssertTrue("\($0)".contains("methods[0]") && "\($0)".contains("window"), "\($0)")
        }
        XCTAssertThrowsError(try recipe(#"{"kind": "hase", "facts": 0, "layers": "0"}"#)) {
            XCTAssertEqual("\($0)", "methods[0].facts: must be at least 1, got 0")
        }
    }

    func testLayerLists() {
        XCTAssertEqual(LayerList.parse("all", count: 4), [0, 1, 2, 3])
        XCTAssertEqual(LayerList.parse("every:2", count: 5), [0, 2, 4])
        XCTAssertEqual(LayerList.parse("0, 6,12", count: 30), [0, 6, 12])
        XCTAssertNil(LayerList.parse("0,30", count: 30))
        XCTAssertNil(LayerList.parse("0,,1", count: 30))
        XCTAssertNil(LayerList.parse("every:0", count: 30))
        XCTAssertNil(LayerList.parse("", count: 30))
    }

    func testCostModelKnowsAnalysisRuns() throws {
        let model = RunCostModel.measured
        let hase = try RecipeExpansion.runs(
            try recipe(#"{"kind": "hase", "facts": 1, "layers": "0,6,12,18,24,29", "romeSteps": 10}"#), shape: smallShape)[0]
        // hase-medium: 899 s for 20 facts at 6 layers, 10 ROME steps (BENCHMARKS.md).
        XCTAssertEqual(model.seconds(hase), model.overhead + 6 * model.hasePerLayer, accuracy: 1e-9)
        XCTAssertEqual(model.hasePerLayer * 6 * 20, 899, accuracy: 10)
        let full = try RecipeExpansion.runs(
            try recipe(#"{"kind": "interchange", "facts": 1, "layers": "all", "romeSteps": 20}"#), shape: smallShape)[0]
        XCTAssertEqual(model.seconds(full), model.overhead + 30 * model.interchangePerLayer * 2, accuracy: 1e-9)
    }

    func testEveryAnalysisRecipeIsARunRecipe() throws {
        let dir = packageRoot.appendingPathComponent("Recipes")
        for name in ["hase", "interchange"] {
            for size in ["quick", "medium", "full"] {
                let r = try Recipe.load(dir.appendingPathComponent("\(name)-\(size).json"))
                XCTAssertEqual(r.methods.map(\.kind), [name])
                let runs = try RecipeExpansion.runs(r, shape: smallShape)
                XCTAssertEqual(runs.count, ["quick": 4, "medium": 20, "full": 100][size], "\(name)-\(size)")
                XCTAssertEqual(r.variant.rawValue, size == "full" ? "full" : "quick")
            }
        }
    }
}
