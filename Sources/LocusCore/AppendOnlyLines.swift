import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An append-only file of text lines (JSON lines) for long runs that must survive a kill: the
/// counterpart of `AtomicFile` for results that arrive one at a time.
/// - each line is written with a single `write(2)` to an `O_APPEND` descriptor and then
///   `fsync`ed, so it is either wholly on disk or (killed mid-write, power lost before the sync)
///   a torn final line without its newline;
/// - on opening, a torn final line is cut off (`ftruncate`, synced) and reported in
///   `repairedBytes`: the work it recorded is simply done again;
/// - an exclusive `flock` keeps two processes from appending to one file (filesystems without
///   `flock` are used unlocked; each shard has its own file).
/// The same discipline as `LocusRecipes.ResultsFile`, for any line format.
public final class AppendOnlyLines {
    public let url: URL
    private let fd: Int32
    /// The complete lines present when the file was opened, with their 1-based line numbers.
    public let lines: [(number: Int, text: String)]
    /// Bytes of a torn final line removed on opening (0 if none).
    public let repairedBytes: Int

    /// Opens (creating it and its directory if needed) `url` for appending; `purpose` names the
    /// command in the error when another process holds the lock.
    public init(url: URL, purpose: String) throws {
        self.url = url
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let created = !FileManager.default.fileExists(atPath: url.path)
        let fd = open(url.path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AppendOnlyLinesError(file: url.path, problem: "cannot open: \(Self.reason())") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            if !(e == ENOLCK || e == EOPNOTSUPP || e == ENOSYS || e == EINVAL) {
                close(fd)
                throw AppendOnlyLinesError(
                    file: url.path, problem: "another process (\(purpose)) is appending to this file (it is locked)")
            }
        }
        if created {
            fsync(fd)
            Self.syncDirectory(url.deletingLastPathComponent())
        }
        self.fd = fd
        var data: Data
        do { data = try Data(contentsOf: url) } catch {
            close(fd)
            throw AppendOnlyLinesError(file: url.path, problem: "cannot read: \(error.localizedDescription)")
        }
        var repaired = 0
        if let last = data.last, last != UInt8(ascii: "\n") {
            let cut = data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
            repaired = data.count - cut
            guard ftruncate(fd, off_t(cut)) == 0 else {
                close(fd)
                throw AppendOnlyLinesError(file: url.path, problem: "cannot cut a torn last line: \(Self.reason())")
            }
            fsync(fd)
            data = data.prefix(cut)
        }
        repairedBytes = repaired
        lines = Self.split(data)
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// The complete lines of `url` as they are, without locking, creating or repairing it (a torn
    /// final line is left out): for reading files that are finished or still being written.
    public static func read(_ url: URL) throws -> [(number: Int, text: String)] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw AppendOnlyLinesError(file: url.path, problem: "cannot read: \(error.localizedDescription)")
        }
        let end = data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        return split(data.prefix(end))
    }

    /// Appends `text` (which must not contain a newline) as one line, durably: one write, then fsync.
    public func append(_ text: String) throws {
        precondition(!text.contains("\n"), "a line must not contain a newline")
        let bytes = Array((text + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            let problem = "write failed: \(Self.reason())"
            if written > 0 {  // a short write leaves a torn line: cut it so the file stays line-aligned
                let size = lseek(fd, 0, SEEK_END)
                _ = ftruncate(fd, size - off_t(written))
            }
            throw AppendOnlyLinesError(file: url.path, problem: problem)
        }
        guard fsync(fd) == 0 else { throw AppendOnlyLinesError(file: url.path, problem: "fsync failed: \(Self.reason())") }
    }

    static func split(_ data: Data) -> [(number: Int, text: String)] {
        var result: [(number: Int, text: String)] = []
        var number = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            guard !line.isEmpty else { continue }
            result.append((number, String(decoding: line, as: UTF8.self)))
        }
        return result
    }

    static func reason() -> String { String(cString: strerror(errno)) }

    static func syncDirectory(_ url: URL) {
        let d = open(url.path, O_RDONLY | O_CLOEXEC)
        guard d >= 0 else { return }
        fsync(d)
        close(d)
    }
}

/// A failure to open, read or append to an `AppendOnlyLines` file, naming it.
public struct AppendOnlyLinesError: Error, CustomStringConvertible {
    public var file: String
    public var problem: String
    public var description: String { "\(file): \(problem)" }
}
