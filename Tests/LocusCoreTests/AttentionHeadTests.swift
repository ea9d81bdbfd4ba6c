import Foundation
import LocusCore
import XCTest

final class AttentionHeadTests: XCTestCase {
    func testOneParserAcceptsEitherCaseAndPrintsUpperCase() {
        for text in ["L12H3", "l12h3", "L12h3", " l12H3 "] {
            XCTAssertEqual(AttentionHead(text), AttentionHead(layer: 12, head: 3), text)
        }
        XCTAssertEqual(AttentionHead("l0h0")?.description, "L0H0")
        for bad in ["", "L", "H3", "L12", "L12H", "LH3", "L-1H0", "L1H-1", "L+1H0", "L1 H3", "L1X3", "12H3",
            "L99999999999999999999999H0", "L1H2H3"]
        {
            XCTAssertNil(AttentionHead(bad), bad)
        }
    }

    func testOrderAndShape() {
        let shape = ModelShape(layerCount: 2, headCount: 3)
        let all = AttentionHead.all(in: shape)
        XCTAssertEqual(all.map(\.description), ["L0H0", "L0H1", "L0H2", "L1H0", "L1H1", "L1H2"])
        XCTAssertEqual(all, all.shuffled().sorted())
        XCTAssertTrue(shape.contains(AttentionHead(layer: 1, head: 2)))
        XCTAssertFalse(shape.contains(AttentionHead(layer: 2, head: 0)))
    }

    func testSelectionParsesPrintsAndResolves() throws {
        let shape = ModelShape(layerCount: 30, headCount: 9)
        for text in ["L12H3,L5H0", "all", "random:16:7", "top:4:runs/x.json"] {
            let s = try HeadSetSelection(parsing: text)
            XCTAssertEqual(try HeadSetSelection(parsing: s.description), s, text)
        }
        XCTAssertEqual(
            try HeadSetSelection(parsing: "l12h3,L5H0").resolve(in: shape).map(\.description), ["L5H0", "L12H3"])
        XCTAssertThrowsError(try HeadSetSelection(parsing: "L30H0").resolve(in: shape))
        XCTAssertThrowsError(try HeadSetSelection(parsing: "L1H1,L1H1").resolve(in: shape))
        // The one random draw: SplitMix64 + partial Fisher–Yates over layer-major indices,
        // pinned so a change is noticed (the same sets as recipes' random generator).
        XCTAssertEqual(
            HeadSetSelection.randomHeads(4, in: ModelShape(layerCount: 2, headCount: 2), seed: 7).map(\.description),
            ["L0H0", "L0H1", "L1H0", "L1H1"])
        let a = try HeadSetSelection.random(count: 16, seed: 3).resolve(in: shape)
        XCTAssertEqual(a, HeadSetSelection.randomHeads(16, in: shape, seed: 3))
        XCTAssertEqual(Set(a).count, 16)
        let drawOrder = HeadSetSelection.randomHeads(16, in: shape, seed: 3, keepOrder: true)
        XCTAssertEqual(drawOrder.sorted(), a)
    }

    func testTopReadsARankingFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("locus-core-\(UUID())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("ranking.json")
        try AtomicFile.write(#"{"heads": [{"layer": 3, "head": 1, "accuracy": 0.9}, {"layer": 0, "head": 2}]}"#, to: file)
        let shape = ModelShape(layerCount: 4, headCount: 4)
        XCTAssertEqual(
            try HeadSetSelection.top(count: 2, rankingFile: file.path).resolve(in: shape).map(\.description),
            ["L0H2", "L3H1"])
        XCTAssertThrowsError(try HeadSetSelection.top(count: 3, rankingFile: file.path).resolve(in: shape))
    }
}
