import Foundation
import LocusData
import XCTest

final class CounterFactTests: XCTestCase {
    func testParsesRecordAndReportsLineOfBadRecord() throws {
        let good = """
            [
              {"case_id": 42, "prompt": "The profession of Arun Nehru is", "target_new": "actor",
               "subject": "Arun Nehru", "ground_truth": "politician",
               "rephrase_prompt": "Arun Nehru is known for",
               "locality_prompt": "George Washington's profession is a",
               "locality_ground_truth": "politician"}
            ]
            """
        let records = try CounterFact.parse(good, file: "cf.json")
        XCTAssertEqual(records.count, 1)
        XCTAssertEqual(records[0].caseID, 42)
        XCTAssertEqual(records[0].targetNew, "actor")
        XCTAssertEqual(records[0].localityGroundTruth, "politician")

        let missing = "[\n{\"case_id\": 1, \"prompt\": \"a b\", \"subject\": \"a\"}\n]"
        assertDataError(line: 2, mentioning: "missing field 'target_new'") {
            _ = try CounterFact.parse(missing, file: "cf.json")
        }
        let noSubject = """
            [{"case_id": 1, "prompt": "x", "target_new": "a", "subject": "zz", "ground_truth": "b",
              "rephrase_prompt": "r", "locality_prompt": "l", "locality_ground_truth": "b"}]
            """
        assertDataError(line: 1, mentioning: "does not contain subject") {
            _ = try CounterFact.parse(noSubject, file: "cf.json")
        }
    }

    func testLoadsSharedCounterFactAndKnowns() throws {
        let location = try DataTestSupport.location()
        let val = try CounterFact.load(location.url("counterfact/counterfact-val.json"))
        XCTAssertGreaterThan(val.count, 1000)
        XCTAssertEqual(val[0].caseID, 10)
        XCTAssertEqual(val[0].subject, "BBC One")
        let knowns = try KnownFacts.load(location.url("knowns/known_1000.json"))
        XCTAssertEqual(knowns.count, 1209)
        XCTAssertEqual(knowns[0].subject, "Vinson Massif")
        XCTAssertEqual(knowns[0].template, "{} is located in the continent")
        XCTAssertEqual(knowns[0].relationID, "P30")
    }
}
