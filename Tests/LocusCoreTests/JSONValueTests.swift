import Foundation
import LocusCore
import XCTest

final class JSONValueTests: XCTestCase {
    func testNumbersRoundTripExactly() throws {
        let text = #"{"n":15,"big":9007199254740993,"neg":-3,"x":0.1,"e":1e-05,"w":15.0,"f":2.5e+20}"#
        let v = try JSONValue.parse(text)
        XCTAssertEqual(v["n"], .integer(15))
        XCTAssertEqual(v["big"]?.int, 9_007_199_254_740_993, "past 2^53 an integer stays exact")
        XCTAssertEqual(v["x"]?.number, 0.1)
        // Integers print as written; doubles in their shortest round-tripping form; a whole
        // double without a fraction.
        XCTAssertEqual(v.text, #"{"n":15,"big":9007199254740993,"neg":-3,"x":0.1,"e":1e-05,"w":15,"f":2.5e+20}"#)
        XCTAssertEqual(try JSONValue.parse(v.text), v)
        for d in [0.1, 1.0 / 3, 6.02e23, -2.5e-300, 123456.789] {
            XCTAssertEqual(try JSONValue.parse(JSONValue.number(d).text).number, d, "\(d)")
        }
        XCTAssertEqual(JSONValue.double(15).text, "15")
        XCTAssertEqual(JSONValue.int(15).text, "15")
        XCTAssertEqual(JSONValue.float(0.1).text, "0.1", "a Float prints in Float's shortest form")
        XCTAssertEqual(JSONValue.number(.nan).text, "null")
        XCTAssertEqual(JSONValue.integer(15), JSONValue.number(15), "numbers compare by value")
        XCTAssertEqual(Set([JSONValue.integer(15), .number(15)]).count, 1)
    }

    func testKeyOrderIsKeptAndCanonicalTextSorts() throws {
        let v = try JSONValue.parse(#"{"z": 1, "a": {"y": [true, null], "b": "é\n"}, "m": -2.5e1}"#)
        XCTAssertEqual(v.fields.map { Array($0.keys) }, ["z", "a", "m"])
        XCTAssertEqual(v.text, #"{"z":1,"a":{"y":[true,null],"b":"é\n"},"m":-25}"#)
        XCTAssertEqual(v.canonicalText, #"{"a":{"b":"é\n","y":[true,null]},"m":-25,"z":1}"#)
        XCTAssertEqual(v.setting("a", 3).text, #"{"z":1,"a":3,"m":-25}"#)
        XCTAssertEqual(v.removing(["z"]).text, #"{"a":{"y":[true,null],"b":"é\n"},"m":-25}"#)
        XCTAssertEqual(JSONValue.object([("b", 1), ("a", 2)]).text, #"{"b":1,"a":2}"#)
        XCTAssertEqual(try JSONValue.parse(v.prettyText), v)
    }

    func testParseErrorsNameFileAndLine() {
        let cases: [(String, Int, String)] = [
            ("{\n  \"a\": 1,\n  \"b\": ,\n}", 3, "invalid JSON value"),
            ("[1,\n2\n", 3, "unterminated array"),
            ("{\"a\": 1,\n \"a\": 2}", 2, "appears twice"),
            ("{\n\"s\": \"line\nbreak\"}", 2, "line break inside a string"),
            ("\n\n  tru", 3, "invalid literal"),
        ]
        for (text, line, fragment) in cases {
            XCTAssertThrowsError(try JSONValue.parse(text, file: "r.json"), text) { error in
                guard let e = error as? JSONValue.ParseError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.file, "r.json")
                XCTAssertEqual(e.line, line, text)
                XCTAssertTrue(e.problem.contains(fragment), "\(e)")
                XCTAssertTrue("\(e)".hasPrefix("r.json:\(line): "), "\(e)")
            }
        }
    }

    func testTopLevelArrayGivesEachItemsLine() throws {
        let items = try JSONValue.parseArray("[\n {\"a\": 1},\n\n {\"a\": 2}\n]", file: "x")
        XCTAssertEqual(items.map(\.line), [2, 4])
        XCTAssertEqual(items.map { $0.value["a"]?.int }, [1, 2])
    }

    func testCodableThroughFoundation() throws {
        let v: JSONValue = ["a": [1, 2.5, "s", nil, true]]
        let data = try JSONEncoder().encode(v)
        XCTAssertEqual(try JSONDecoder().decode(JSONValue.self, from: data), v)
    }
}
