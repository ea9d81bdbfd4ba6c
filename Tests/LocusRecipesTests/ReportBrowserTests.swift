import Foundation
import LocusRecipes
import XCTest

/// Opens a written report in headless Chromium (scripts/browser/check_report.py, Selenium +
/// Debian's chromium and chromium-driver, installed by scripts/ensure-browser.sh): every figure
/// must render with a non-empty box and the console must log no error. Missing browser = failure,
/// never a skip (CI installs it).
final class ReportBrowserTests: XCTestCase {
    func testReportRendersInHeadlessChromiumWithoutConsoleErrors() throws {
        let dir = try temporaryDirectory()
        let results = dir.appendingPathComponent("r.jsonl")
        try SweepRunner(runs: try sampleRuns(), results: try ResultsFile(url: results), executor: fakeExecutor).run()
        let out = dir.appendingPathComponent("report")
        try ReportWriter(report: try SweepReport.load([results])).write(to: out)
        let figureCount = try FileManager.default.contentsOfDirectory(
            atPath: out.appendingPathComponent("figures").path).filter { $0.hasSuffix(".svg") }.count
        XCTAssertGreaterThan(figureCount, 0)

        let python = packageRoot.appendingPathComponent(".venv-ref/bin/python")
        let script = packageRoot.appendingPathComponent("scripts/browser/check_report.py")
        let process = Process()
        process.executableURL = python
        process.arguments = [script.path, out.appendingPathComponent("report.html").path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, output)
        // Every SVG written to figures/ is inlined in the page and rendered.
        XCTAssertTrue(output.contains("check_report: \(figureCount) figures, 0 failures"), output)
        XCTAssertFalse(output.contains("EMPTY"), output)
    }
}
