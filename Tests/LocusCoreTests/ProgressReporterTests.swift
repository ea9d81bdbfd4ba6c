import Foundation
import LocusCore
import XCTest

final class ProgressReporterTests: XCTestCase {
    final class Lines: @unchecked Sendable {
        var text: [String] = []
        let lock = NSLock()
        func append(_ s: String) {
            lock.lock()
            text.append(s)
            lock.unlock()
        }
    }

    func testPlainModePrintsTimestampedLinesAndAlwaysTheLast() {
        let lines = Lines()
        let p = ProgressReporter(
            label: "probe", unit: "prompts", style: .plain(interval: 3600), minimumInterval: 0,
            output: { lines.append($0) })
        for i in 1...10 { p.update(i, 10) }
        p.finish()
        XCTAssertEqual(lines.text.count, 2, "the first line, then the interval holds back all but the final one")
        XCTAssertTrue(lines.text.allSatisfy { $0.hasSuffix("\n") && !$0.contains("\r") })
        XCTAssertTrue(lines.text[1].contains("probe: 10/10 prompts (100%)"), lines.text[1])
        XCTAssertTrue(lines.text[1].contains("ETA 0:00"), lines.text[1])
        XCTAssertNotNil(ISO8601DateFormatter().date(from: String(lines.text[0].prefix(20))), lines.text[0])
    }

    func testInteractiveModeRedrawsInPlaceAndEndsTheLine() {
        let lines = Lines()
        let p = ProgressReporter(label: "trace", style: .interactive, minimumInterval: 0, output: { lines.append($0) })
        p.update(1, 4, extra: "L3")
        p.update(4, 4)
        p.finish()
        XCTAssertEqual(lines.text.count, 3)
        XCTAssertTrue(lines.text[0].hasPrefix("\rtrace: 1/4 (25%)"), lines.text[0])
        XCTAssertTrue(lines.text[0].contains("  L3"))
        XCTAssertEqual(lines.text[2], "\n")
    }

    func testLineAndClock() {
        XCTAssertEqual(ProgressReporter.clock(59.6), "1:00")
        XCTAssertEqual(ProgressReporter.clock(3725), "1:02:05")
        XCTAssertEqual(ProgressReporter.clock(.nan), "--:--")
        XCTAssertEqual(
            ProgressReporter.line(label: "x", unit: "items", done: 5, total: 20, elapsed: 10),
            "x: 5/20 items (25%)  0.5 items/s  elapsed 0:10  ETA 0:30")
        XCTAssertEqual(
            ProgressReporter.line(label: "x", unit: "", done: 0, total: 20, elapsed: 0),
            "x: 0/20 (0%)  0.0/s  elapsed 0:00  ETA --:--")
    }
}
