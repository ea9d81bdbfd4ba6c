import Foundation
import LocusCore
import XCTest

final class AtomicFileTests: XCTestCase {
    func testWritesReplacesAndLeavesNoTemporaryFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("locus-atomic-\(UUID())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("sub/out.json")
        try AtomicFile.write("old", to: file)
        XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), "old")
        let big = String(repeating: "x", count: 5_000_000)
        try AtomicFile.write(big, to: file)
        XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), big)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: file.deletingLastPathComponent().path), ["out.json"])
    }

    func testAFailedWriteLeavesTheOldFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("locus-atomic-\(UUID())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("out.json")
        try AtomicFile.write("old", to: file)
        // A directory where the file should go: the rename fails, the temporary file is removed.
        let blocked = dir.appendingPathComponent("blocked")
        try FileManager.default.createDirectory(
            at: blocked.appendingPathComponent("child"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try AtomicFile.write("new", to: blocked)) { error in
            XCTAssertTrue("\(error)".contains("blocked"), "\(error)")
        }
        XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), "old")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)), ["out.json", "blocked"])
    }
}
