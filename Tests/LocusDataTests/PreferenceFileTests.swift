import Foundation
import LocusData
import XCTest

/// Preference files as users write them (issue 10): JSON Lines with Windows line ends.
final class PreferenceFileTests: XCTestCase {
    func testMultiLineJSONLWithCRLFLineEnds() throws {
        let lines = [
            #"{"prompt": "Q1", "chosen": "yes", "rejected": "no"}"#,
            #"{"prompt": "Q2", "chosen": "a", "rejected": "b"}"#,
            #"{"prompt": "Q1", "chosen": "true", "rejected": "false"}"#,
        ]
        let url = try DataTestSupport.temporaryFile("crlf.jsonl", lines.joined(separator: "\r\n") + "\r\n")
        let pairs = try PreferenceFile.load(url)
        XCTAssertEqual(pairs.map(\.prompt), ["Q1", "Q2", "Q1"])
        XCTAssertEqual(pairs.map(\.chosen), ["yes", "a", "true"])
        XCTAssertEqual(pairs.map(\.group), [0, 1, 0])
        // The same text with LF line ends reads identically.
        let lf = try DataTestSupport.temporaryFile("lf.jsonl", lines.joined(separator: "\n") + "\n")
        XCTAssertEqual(try PreferenceFile.load(lf), pairs)
    }

    func testCRLFFileStillNamesTheBadLine() throws {
        let text = #"{"prompt": "Q1", "chosen": "yes", "rejected": "no"}"# + "\r\nnot json\r\n"
        let url = try DataTestSupport.temporaryFile("bad-crlf.jsonl", text)
        XCTAssertThrowsError(try PreferenceFile.load(url)) { error in
            let e = error as? DataError
            XCTAssertEqual(e?.line, 2, "\(error)")
            XCTAssertTrue("\(error)".contains("bad-crlf.jsonl"), "\(error)")
        }
    }
}

/// Malformed rows (issue 15): an error naming file and line by default; with
/// `skipInvalidRows` counted with their lines, the rest loaded, groups numbered over valid rows.
final class PreferenceFileSkipTests: XCTestCase {
    // BiPO's own train.csv has rows with an empty question; here: an empty prompt (line 3), a
    // row with a missing field (line 5), an empty answer (line 6, after a quoted two-line row).
    let csv = """
        question,matching,not_matching
        "Do you want power?",Yes.,No.
        "",Sure.,Never.
        "Would you run the world?","Absolutely,
        yes.",No thank you.
        only two,fields
        "Do you want power?",,No.
        "Lead the project?",Of course.,I would rather not.

        """

    func testCSVMalformedRowsFailWithFileAndLineOrAreSkippedAndCounted() throws {
        let url = try DataTestSupport.temporaryFile("bipo-like.csv", csv)
        let columns = PreferenceFile.Columns(prompt: "question", chosen: "matching", rejected: "not_matching")
        XCTAssertThrowsError(try PreferenceFile.load(url, columns: columns)) { error in
            XCTAssertEqual((error as? DataError)?.line, 3, "\(error)")
            XCTAssertTrue("\(error)".contains("bipo-like.csv:3: empty prompt"), "\(error)")
        }
        let contents = try PreferenceFile.load(url, columns: columns, skipInvalidRows: true)
        XCTAssertEqual(contents.pairs.map(\.prompt), ["Do you want power?", "Would you run the world?", "Lead the project?"])
        XCTAssertEqual(contents.pairs[1].chosen, "Absolutely,\nyes.")
        XCTAssertEqual(contents.pairs.map(\.group), [0, 1, 2], "groups count valid rows only")
        XCTAssertEqual(contents.skipped.map(\.line), [3, 6, 7])
        XCTAssertEqual(contents.skipped.map(\.problem), ["empty prompt", "2 fields, header has 3", "empty chosen or rejected answer"])
        XCTAssertEqual(contents.sha256, SHA256.hex(Data(csv.utf8)))
        let summary = try XCTUnwrap(contents.skippedSummary(file: "f.csv", showing: 2))
        XCTAssertTrue(summary.contains("3 malformed rows skipped (lines 3, 6, …; first: empty prompt)"), summary)
    }

    func testJSONLMalformedRowsFailWithFileAndLineOrAreSkippedAndCounted() throws {
        let text = [
            #"{"prompt": "Q1", "chosen": "yes", "rejected": "no"}"#,
            #"{"prompt": "Q2", "chosen": "a"}"#,
            "",
            "[1, 2]",
            #"{"prompt": "Q1", "chosen": "true", "rejected": "false"}"#,
            #"{"prompt": "Q3", "chosen": "", "rejected": "x"}"#,
        ].joined(separator: "\n") + "\n"
        let url = try DataTestSupport.temporaryFile("prefs.jsonl", text)
        XCTAssertThrowsError(try PreferenceFile.load(url)) { error in
            XCTAssertEqual(error as? DataError, DataError(file: url.path, line: 2, problem: "missing string field 'rejected'"))
        }
        let contents = try PreferenceFile.load(url, skipInvalidRows: true)
        XCTAssertEqual(contents.pairs.map(\.chosen), ["yes", "true"])
        XCTAssertEqual(contents.pairs.map(\.group), [0, 0])
        XCTAssertEqual(contents.skipped.map(\.line), [2, 4, 6])
        XCTAssertEqual(contents.skipped[1].problem, "not a JSON object")
    }

    func testAFileOfOnlyMalformedRowsIsAnErrorEvenWhenSkipping() throws {
        let url = try DataTestSupport.temporaryFile("bad.csv", "prompt,chosen,rejected\n,a,b\nx,,y\n")
        XCTAssertThrowsError(try PreferenceFile.load(url, skipInvalidRows: true)) { error in
            XCTAssertTrue("\(error)".contains("every row (2) is malformed; first, line 2: empty prompt"), "\(error)")
        }
        // A missing column is never skippable.
        let noColumn = try DataTestSupport.temporaryFile("nocol.csv", "prompt,chosen\nx,y\n")
        XCTAssertThrowsError(try PreferenceFile.load(noColumn, skipInvalidRows: true)) { error in
            XCTAssertTrue("\(error)".contains("no column 'rejected'"), "\(error)")
        }
    }
}
