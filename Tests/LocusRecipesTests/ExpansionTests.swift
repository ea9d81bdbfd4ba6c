import LocusCore
import Foundation
import LocusRecipes
import XCTest

final class ExpansionTests: XCTestCase {
    func testExpansionIsCompleteAndStable() throws {
        let runs = try sampleRuns()
        // iti: (1 top + 6 random + 3 single) × 3 α; ipo: (1 top + 3 single) × 2 τ.
        XCTAssertEqual(runs.count, 10 * 3 + 4 * 2)
        XCTAssertEqual(Set(runs.map(\.runID)).count, runs.count)
        XCTAssertEqual(try sampleRuns().map(\.runID), runs.map(\.runID))
        XCTAssertTrue(runs.allSatisfy { $0.runID.count == 16 })
        // The recipe's name is a label, not part of what is computed.
        XCTAssertEqual(try sampleRuns(name: "other").map(\.runID), runs.map(\.runID))
        // Each run is fully specified and round-trips through its JSON form.
        for r in runs {
            let back = try RunSpec(json: try JSONValue.parse(r.json.text))
            XCTAssertEqual(back, r)
            XCTAssertEqual(back.canonicalText, r.canonicalText)
            XCTAssertNotNil(r.headSet)
            XCTAssertTrue(r.parameters.fields!.allSatisfy { $0.value.array == nil })
        }
        let top = runs.first { $0.headSet?.kind == "top" }!
        XCTAssertEqual(top.headSet!.heads, ["L0H0", "L1H1", "L2H2", "L3H3"])
        XCTAssertEqual(top.headSet!.perFold?[1], ["L26H8", "L27H0", "L28H1", "L29H2"])
        XCTAssertEqual(top.headSet!.selection, "top:4:ranking.json")
        // Codable too (Foundation coders).
        let data = try JSONEncoder().encode(top)
        XCTAssertEqual(try JSONDecoder().decode(RunSpec.self, from: data), top)
    }

    func testChangingAnythingComputedChangesTheID() throws {
        let base = try sampleRuns()[0]
        var s = base
        s.seed = 1
        XCTAssertNotEqual(RunSpec(recipe: s.recipe, variant: s.variant, model: s.model, data: s.data, method: s.method, methodName: s.methodName, parameters: s.parameters, headSet: s.headSet, metrics: s.metrics, seed: 1).runID, base.runID)
        var data = base.data
        data.questions = 11
        XCTAssertNotEqual(RunSpec(recipe: s.recipe, variant: s.variant, model: s.model, data: data, method: s.method, methodName: s.methodName, parameters: s.parameters, headSet: s.headSet, metrics: s.metrics, seed: 0).runID, base.runID)
        XCTAssertEqual(RunSpec(recipe: "renamed", variant: "full", model: s.model, data: s.data, method: s.method, methodName: "label", parameters: s.parameters, headSet: s.headSet, metrics: s.metrics, seed: 0).runID, base.runID)
    }

    func testRandomHeadSets() throws {
        let runs = try sampleRuns()
        let random = runs.filter { $0.headSet?.kind == "random" && $0.number("alpha") == 0 }.map { $0.headSet! }
        XCTAssertEqual(random.count, 6)
        XCTAssertEqual(random.map(\.selection), (0..<6).map { "random:4:\($0)" })
        for h in random {
            XCTAssertEqual(h.heads.count, 4)
            XCTAssertEqual(Set(h.heads).count, 4)
            XCTAssertEqual(h.heads, RecipeExpansion.randomHeads(4, shape: smallShape, seed: UInt64(h.index)))
        }
        XCTAssertGreaterThan(Set(random.map(\.heads)).count, 4)
        let singles = runs.filter { $0.headSet?.kind == "randomSingle" && $0.method == "iti" && $0.number("alpha") == 0 }
        XCTAssertEqual(Set(singles.map { $0.headSet!.heads[0] }).count, 3)
        // All draws are valid heads.
        for name in random.flatMap(\.heads) {
            let p = AttentionHead(name)!
            XCTAssertTrue(p.layer < 30 && p.head < 9)
        }
        // The draw is SplitMix64 + partial Fisher–Yates; pinned so a change is noticed.
        XCTAssertEqual(RecipeExpansion.randomHeads(3, shape: ModelShape(layerCount: 2, headCount: 2), seed: 7).count, 3)
        let all = RecipeExpansion.randomHeads(4, shape: ModelShape(layerCount: 2, headCount: 2), seed: 7)
        XCTAssertEqual(all, ["L0H0", "L0H1", "L1H0", "L1H1"])
    }

    func testShardsPartitionTheRuns() throws {
        let ids = try sampleRuns().map(\.runID)
        for n in [1, 2, 3, 5] {
            var seen: [String] = []
            for i in 0..<n { seen += ids.filter { Shard(index: i, count: n).contains($0) } }
            XCTAssertEqual(seen.sorted(), ids.sorted(), "n = \(n)")
        }
        XCTAssertNil(Shard(parsing: "2/2"))
        XCTAssertNil(Shard(parsing: "1"))
        XCTAssertEqual(Shard(parsing: "1/3"), Shard(index: 1, count: 3))
    }

    func testMissingRankingSaysHowToMakeIt() throws {
        let recipe = try Recipe.parse(try JSONValue.parse(sampleRecipeJSON()))
        XCTAssertThrowsError(try RecipeExpansion.runs(recipe, shape: smallShape)) { e in
            XCTAssertTrue("\(e)".hasPrefix("headSets[0].ranking: ranking file ranking.json does not exist"), "\(e)")
            XCTAssertTrue("\(e)".contains("locus probe"))
        }
    }
}
