import Foundation
import LocusCore
import XCTest
import LocusTensor

@testable import LocusEvaluation

/// `EvaluationPlan` (the units and shards of a journaled evaluation) and `EvaluationJournal`'s
/// exact round trip of results.
final class EvaluationPlanTests: XCTestCase {
    func testUnitsFollowGroupsAndUnitSize() {
        let plan = EvaluationPlan(groups: [[5, 1, 7, 3, 9], [2, 4]], unitSize: 2, cost: { $0 })
        XCTAssertEqual(plan.units.map(\.questionIDs), [[5, 1], [7, 3], [9], [2, 4]])
        XCTAssertEqual(plan.units.map(\.group), [0, 0, 0, 1])
        XCTAssertEqual(plan.units.map(\.cost), [6, 10, 9, 6])
        XCTAssertEqual(EvaluationPlan.unitSize([4, 8]), 8)
        XCTAssertEqual(EvaluationPlan.unitSize([3, 2]), 6)
        XCTAssertEqual(EvaluationPlan.unitSize([1]), 1)
        XCTAssertEqual(EvaluationPlan.unitSize([]), 1)
    }

    /// Shards are disjoint, cover every unit, keep plan order, and are balanced by cost (the
    /// greedy rule against a brute-force check of its bound: no shard exceeds the lightest by
    /// more than the largest unit).
    func testShardsPartitionAndBalance() {
        var rng = SeededGenerator(seed: 7)
        let ids = (0..<101).map { $0 }
        let costs = ids.map { _ in Int(rng.next() % 500) + 50 }
        let plan = EvaluationPlan(groups: [Array(ids[0..<60]), Array(ids[60...])], unitSize: 3, cost: { costs[$0] })
        for n in 1...5 {
            let shards = (0..<n).map { plan.shard($0, of: n) }
            XCTAssertEqual(shards.flatMap { $0 }.sorted(), Array(plan.units.indices), "n = \(n)")
            for s in shards { XCTAssertEqual(s, s.sorted()) }
            let loads = shards.map { $0.reduce(0) { $0 + plan.units[$1].cost } }
            let largest = plan.units.map(\.cost).max()!
            XCTAssertLessThanOrEqual(loads.max()! - loads.min()!, largest, "n = \(n): \(loads)")
            XCTAssertEqual(shards, (0..<n).map { plan.shard($0, of: n) }, "deterministic")
        }
    }

    /// Results written to a journal and read back are bit-identical (shortest round-trip
    /// numbers), and the header check names the differing field.
    func testJournalRoundTripAndFingerprint() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("j.jsonl")
        let header = EvaluationJournalHeader(fingerprint: [.init("model_sha256", "abc"), .init("alpha", "15.0")], modelFile: "m", arguments: ["x"])
        var rng = SeededGenerator(seed: 3)
        func value() -> Double { Double(bitPattern: rng.next() >> 2 | 0x3FF0_0000_0000_0000) * -3.7 }
        let trueScores = (0..<5).map { _ in value() }, falseScores = (0..<4).map { _ in value() }
        let result = MultipleChoiceQuestionResult(
            questionID: 4, metrics: MultipleChoiceMetrics(trueScores: trueScores, falseScores: falseScores, best: 1),
            trueScores: trueScores, falseScores: falseScores, best: 1)
        let run = MultipleChoiceRun(results: [result], mean: .mean([result.metrics]), tokens: 10, equivalentTokens: 90, answerCount: 9, seconds: 0.25)
        let entry = EvaluationJournalEntry(group: 0, questions: [4], multipleChoice: run, generation: nil, generationSummary: nil)
        do {
            let journal = try EvaluationJournal(url: url, header: header)
            XCTAssertTrue(journal.started)
            try journal.append(entry)
        }
        do {  // (a journal holds its lock while open, also against this process)
            let reopened = try EvaluationJournal(url: url, header: header)
            XCTAssertFalse(reopened.started)
            XCTAssertEqual(reopened.entries, [entry])
            XCTAssertEqual(reopened.entries[0].multipleChoice!.results[0].trueScores.map(\.bitPattern), trueScores.map(\.bitPattern))
            XCTAssertThrowsError(try EvaluationJournal(url: url, header: header)) { error in
                XCTAssertTrue("\(error)".contains("is appending to this file (it is locked)"), "\(error)")
            }
        }

        let other = EvaluationJournalHeader(fingerprint: [.init("model_sha256", "abc"), .init("alpha", "10.0")], modelFile: "m", arguments: [])
        XCTAssertThrowsError(try EvaluationJournal(url: url, header: other)) { error in
            XCTAssertTrue("\(error)".contains("was written with alpha = 15.0, this run has alpha = 10.0"), "\(error)")
        }
    }
}
