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
