import Foundation
import LocusCheckpoint
import XCTest

/// A fresh directory per test case, removed afterwards.
final class TemporaryFiles {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("LocusCheckpointTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Writes `bytes` to `name` in the directory and returns its URL.
    @discardableResult
    func write(_ bytes: [UInt8], to name: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }
}

/// Runs `body`, requires it to throw a `CheckpointError` about `url`, and returns the error.
@discardableResult
func checkpointError(
    about url: URL, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void
) -> CheckpointError? {
    do {
        try body()
        XCTFail("expected a CheckpointError about \(url.lastPathComponent)", file: file, line: line)
        return nil
    } catch let error as CheckpointError {
        XCTAssertEqual(error.file, url.path, file: file, line: line)
        XCTAssertTrue(
            error.description.contains(url.lastPathComponent),
            "the description should name the file: \(error)", file: file, line: line)
        return error
    } catch {
        XCTFail("expected a CheckpointError, got \(error)", file: file, line: line)
        return nil
    }
}

/// Runs `body`, which may succeed or throw a `CheckpointError` about `url`, but nothing else.
func succeedsOrThrowsCheckpointError(
    about url: URL, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void
) {
    do {
        try body()
    } catch let error as CheckpointError {
        XCTAssertEqual(error.file, url.path, file: file, line: line)
    } catch {
        XCTFail("expected success or a CheckpointError, got \(error)", file: file, line: line)
    }
}

extension CheckpointError.Problem {
    var isTruncated: Bool {
        if case .truncated = self { return true }
        return false
    }

    var isMalformed: Bool {
        if case .malformed = self { return true }
        return false
    }
}
