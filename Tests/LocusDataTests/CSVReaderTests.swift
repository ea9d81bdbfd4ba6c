import LocusData
import XCTest

final class CSVReaderTests: XCTestCase {
    func testQuotedFieldsWithCommasNewlinesAndDoubledQuotes() throws {
        let text = "\u{FEFF}a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"two\nlines\",\n"
        let records = try CSVReader.parse(text, file: "t.csv")
        XCTAssertEqual(records.map(\.fields), [
            ["a", "b", "c"], ["1", "x, y", "say \"hi\""], ["2", "two\nlines", ""],
        ])
        XCTAssertEqual(records.map(\.line), [1, 2, 3])
    }

    func testLineNumbersCountEmbeddedNewlinesAndSkipBlankLines() throws {
        let text = "h\n\"a\nb\nc\"\n\nlast"
        let records = try CSVReader.parse(text, file: "t.csv")
        XCTAssertEqual(records.map(\.fields), [["h"], ["a\nb\nc"], ["last"]])
        XCTAssertEqual(records.map(\.line), [1, 2, 6])
    }

    func testEmptyQuotedFieldAndTrailingEmptyField() throws {
        let records = try CSVReader.parse("\"\",x,\n", file: "t.csv")
        XCTAssertEqual(records.map(\.fields), [["", "x", ""]])
    }

    func testUnterminatedQuoteNamesTheLineItOpens() {
        assertDataError(line: 3, mentioning: "never closed") {
            _ = try CSVReader.parse("a,b\n1,2\n3,\"open\nmore\n", file: "t.csv")
        }
    }

    func testQuoteInsideUnquotedField() {
        assertDataError(line: 2, mentioning: "double quote") {
            _ = try CSVReader.parse("a,b\nab\"c,d\n", file: "t.csv")
        }
    }

    func testTextAfterClosingQuote() {
        assertDataError(line: 2, mentioning: "after the closing quote") {
            _ = try CSVReader.parse("a,b\n\"ab\"c,d\n", file: "t.csv")
        }
    }

    func testErrorDescriptionNamesFileAndLine() {
        let error = DataError(file: "/x/TruthfulQA.csv", line: 7, problem: "bad")
        XCTAssertEqual(error.description, "/x/TruthfulQA.csv:7: bad")
    }
}
