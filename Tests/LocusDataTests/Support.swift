import Foundation
import LocusData
import XCTest

enum DataTestSupport {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The shared data folder; missing data is a failure, not a skip.
    static func location() throws -> DataLocation {
        let location = try DataLocation.resolve(searchFrom: [packageRoot])
        guard FileManager.default.fileExists(atPath: location.truthfulQACSV.path) else {
            throw DataError(
                file: location.truthfulQACSV.path,
                problem: "missing: set $LOCUS_DATA to the shared data folder")
        }
        return location
    }

    /// Writes `text` to a fresh temporary file and returns its URL.
    static func temporaryFile(_ name: String, _ text: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("locus-data-tests-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }
}

/// Asserts that `body` throws a `DataError` at `line` whose problem mentions `fragment`.
func assertDataError(
    line: Int?, mentioning fragment: String, file: StaticString = #filePath,
    testLine: UInt = #line, _ body: () throws -> Void
) {
    do {
        try body()
        XCTFail("no error thrown", file: file, line: testLine)
    } catch let error as DataError {
        XCTAssertEqual(error.line, line, "\(error)", file: file, line: testLine)
        XCTAssertTrue(
            error.problem.contains(fragment), "'\(error.problem)' lacks '\(fragment)'", file: file,
            line: testLine)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: testLine)
    }
}
