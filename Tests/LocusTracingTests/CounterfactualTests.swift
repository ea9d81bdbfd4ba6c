import LocusData
import LocusTokenizer
import LocusTracing
import XCTest

/// Word-level tokenizer for pairing tests: each space-separated word is one token (a leading
/// space belongs to the word, as in byte-level BPE), except that words listed in `split` are
/// two tokens.
private struct WordTokenizer: Tokenizer {
    var split: Set<String> = []
    var vocabularySize: Int { 1 << 20 }
    var bosID: Int? { nil }
    var eosID: Int? { nil }
    func encode(_ text: String) -> [Int] {
        var ids: [Int] = []
        var first = true
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            defer { first = false }
            if word.isEmpty { continue }
            let piece = (first ? "" : " ") + word
            let id = abs(piece.hashValue) % 100_000
            ids.append(id)
            if split.contains(String(word)) { ids.append(id + 1) }
        }
        return ids
    }
    func decode(_ ids: [Int]) -> String { "" }
    func tokenString(_ id: Int) -> String { "" }
}

final class CounterfactualTests: XCTestCase {
    func fact(_ id: Int, _ subject: String, _ attribute: String, template: String = "{} is located in")
        -> KnownFact
    {
        KnownFact(
            id: id, subject: subject, attribute: attribute, template: template, prediction: "",
            prompt: template.replacingOccurrences(of: "{}", with: subject), relationID: "P0")
    }

    func testPairsNeedSameTemplateSameSubjectLengthAndDifferentAnswer() {
        let tok = WordTokenizer(split: ["Berlinxx"])
        let facts = [
            fact(0, "Paris Tower", "France"),
            fact(1, "Rome", "Italy"),  // one token: wrong length
            fact(2, "Lyon Tower", "France"),  // same length, same answer
            fact(3, "Eiffel Tower", "Italy", template: "{} is found in"),  // other template
            fact(4, "Berlinxx", "Germany"),  // one word, two tokens: same length, different answer
            fact(5, "Oslo", "Norway"),  // only Rome has one token, and a different answer
        ]
        let (pairs, skipped) = Counterfactuals.pairs(facts, candidates: facts, limit: 10, tokenizer: tok)
        let byFact = Dictionary(uniqueKeysWithValues: pairs.map { ($0.fact.id, $0.counterfactual.id) })
        XCTAssertEqual(byFact[0], 4)  // 2 has the same answer and is passed over
        XCTAssertEqual(byFact[1], 5)
        XCTAssertEqual(byFact[2], 4)
        XCTAssertNil(byFact[3])
        XCTAssertEqual(byFact[4], 0)
        XCTAssertEqual(byFact[5], 1)
        XCTAssertEqual(skipped, [.noSameLengthSubject: 1])
        for p in pairs {
            XCTAssertEqual(tok.encode(p.fact.prompt).count, tok.encode(p.counterfactual.prompt).count)
            XCTAssertNotEqual(tok.encode(" " + p.fact.attribute).first, tok.encode(" " + p.counterfactual.attribute).first)
        }
        XCTAssertEqual(
            Counterfactuals.describe(skipped: skipped),
            "skipped 1 fact(s) without a counterfactual: 1 no same-template subject of the same token length")
    }

    func testSameLengthButSameAnswerIsRejectedWithItsReason() {
        let tok = WordTokenizer()
        let facts = [fact(0, "Paris Tower", "France"), fact(1, "Lyon Tower", "France")]
        guard case .failure(let e) = Counterfactuals.find(for: facts[0], among: facts, tokenizer: tok) else {
            return XCTFail("paired two facts with the same answer")
        }
        XCTAssertEqual(e.reason, .noDifferentAnswer)
        let (pairs, skipped) = Counterfactuals.pairs(facts, candidates: facts, limit: 1, tokenizer: tok)
        XCTAssertTrue(pairs.isEmpty)
        XCTAssertEqual(skipped, [.noDifferentAnswer: 2])
    }
}
