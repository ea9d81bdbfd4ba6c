// Head names, head-set parsing and resolution (the `--heads` option every method shares).

import LocusCore
import Foundation
import LocusModel
import XCTest

@testable import LocusInterventions

final class HeadSelectionTests: XCTestCase {
    /// SmolLM2-135M's shape: 30 layers × 9 query heads.
    let config = ModelConfig(
        vocabularySize: 49152, hiddenSize: 576, intermediateSize: 1536, layerCount: 30,
        headCount: 9, keyValueHeadCount: 3, ropeBase: 100_000, rmsNormEpsilon: 1e-5,
        contextLength: 8192, tiedEmbeddings: true)

    func testHeadNamesRoundTrip() {
        XCTAssertEqual(AttentionHead("L12H3"), AttentionHead(layer: 12, head: 3))
        XCTAssertEqual(AttentionHead(" l0h8 "), AttentionHead(layer: 0, head: 8))
        XCTAssertEqual(AttentionHead(layer: 29, head: 4).description, "L29H4")
        for bad in ["", "L", "H3", "L12", "12H3", "L-1H2", "L1H", "LxH2", "L1H2x"] {
            XCTAssertNil(AttentionHead(bad), bad)
        }
        XCTAssertLessThan(AttentionHead(layer: 1, head: 8), AttentionHead(layer: 2, head: 0))
        XCTAssertLessThan(AttentionHead(layer: 2, head: 0), AttentionHead(layer: 2, head: 1))
    }

    func testEveryHeadIsLayerMajor() {
        let heads = AttentionHead.all(in: config)
        XCTAssertEqual(heads.count, 270)
        XCTAssertEqual(heads[0], AttentionHead(layer: 0, head: 0))
        XCTAssertEqual(heads[9], AttentionHead(layer: 1, head: 0))
        XCTAssertEqual(heads, heads.sorted())
    }

    func testParsingAndPrintingAgree() throws {
        for text in ["L12H3,L5H0", "all", "random:16:0", "top:8:runs/probe/ranking.json"] {
            let selection = try HeadSetSelection(parsing: text)
            XCTAssertEqual(try HeadSetSelection(parsing: selection.description), selection, text)
        }
        XCTAssertEqual(try HeadSetSelection(parsing: "random:16:7"), .random(count: 16, seed: 7))
        XCTAssertEqual(
            try HeadSetSelection(parsing: "L1H2,L0H1"),
            .explicit([AttentionHead(layer: 1, head: 2), AttentionHead(layer: 0, head: 1)]))
    }

    func testMalformedSelectionsAreErrors() {
        for bad in ["", "random", "random:0:1", "random:4", "random:x:1", "top:3", "top:0:f.json", "L1H2,", "L1H2,bogus", "all:3"] {
            XCTAssertThrowsError(try HeadSetSelection(parsing: bad), bad)
        }
    }

    func testResolveSortsAndChecksTheModelShape() throws {
        let explicit = try HeadSetSelection(parsing: "L12H3,L5H0").resolve(in: config)
        XCTAssertEqual(explicit, [AttentionHead(layer: 5, head: 0), AttentionHead(layer: 12, head: 3)])
        XCTAssertEqual(try HeadSetSelection.all.resolve(in: config).count, 270)
        XCTAssertThrowsError(try HeadSetSelection(parsing: "L30H0").resolve(in: config))
        XCTAssertThrowsError(try HeadSetSelection(parsing: "L0H9").resolve(in: config))
        XCTAssertThrowsError(try HeadSetSelection(parsing: "L1H1,L1H1").resolve(in: config))
        XCTAssertThrowsError(try HeadSetSelection.random(count: 271, seed: 0).resolve(in: config))
    }

    func testRandomSelectionIsASeededUniformSample() throws {
        let a = try HeadSetSelection.random(count: 16, seed: 3).resolve(in: config)
        let b = try HeadSetSelection.random(count: 16, seed: 3).resolve(in: config)
        let c = try HeadSetSelection.random(count: 16, seed: 4).resolve(in: config)
        XCTAssertEqual(a, b, "same seed, same heads")
        XCTAssertNotEqual(a, c, "another seed draws another set")
        XCTAssertEqual(Set(a).count, 16)
        XCTAssertEqual(try HeadSetSelection.random(count: 270, seed: 9).resolve(in: config).count, 270)

        // Uniformity: over 2000 draws of 27 heads each head is picked with p = 0.1; the count of
        // every head is Binomial(2000, 0.1) (mean 200, sd 13.4). Bounds at ±6 sd cannot fail by
        // chance in practice but catch a biased shuffle (e.g. modulo bias or a fixed prefix).
        var counts = [AttentionHead: Int]()
        for seed in 0..<2000 {
            for head in try HeadSetSelection.random(count: 27, seed: UInt64(seed)).resolve(in: config) {
                counts[head, default: 0] += 1
            }
        }
        XCTAssertEqual(counts.count, 270)
        for (head, n) in counts { XCTAssert((120...280).contains(n), "\(head) drawn \(n) times") }
    }

    func testTopKReadsTheRankingInRankOrder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("locus-ranking-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("ranking.json")
        try Data(
            #"{"heads":[{"layer":18,"head":5,"accuracy":0.82},{"layer":3,"head":1},{"layer":26,"head":2}]}"#
                .utf8
        ).write(to: file)
        XCTAssertEqual(
            try HeadRanking.load(file),
            [AttentionHead(layer: 18, head: 5), AttentionHead(layer: 3, head: 1), AttentionHead(layer: 26, head: 2)])
        let top2 = try HeadSetSelection.top(count: 2, rankingFile: file.path).resolve(in: config)
        XCTAssertEqual(top2, [AttentionHead(layer: 3, head: 1), AttentionHead(layer: 18, head: 5)])
        XCTAssertThrowsError(try HeadSetSelection.top(count: 4, rankingFile: file.path).resolve(in: config))

        let malformed = dir.appendingPathComponent("bad.json")
        try Data(#"{"heads":[{"layer":"x","head":1}]}"#.utf8).write(to: malformed)
        XCTAssertThrowsError(try HeadRanking.load(malformed)) { error in
            XCTAssert("\(error)".contains("heads[0]"), "\(error)")
        }
        XCTAssertThrowsError(try HeadRanking.load(dir.appendingPathComponent("missing.json"))) { error in
            XCTAssert("\(error)".contains("missing.json"), "\(error)")
        }
    }
}
