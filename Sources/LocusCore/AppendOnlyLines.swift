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
/// `LocusRecipes.ResultsFile` (sweep records) and `EvaluationJournal` (evaluation units) are
/// built on it.
public final class AppendOnlyLines {
    /// One non-empty line: its 1-based number in the file and its bytes (without the newline).
    public struct Line: Sendable {
        public var number: Int
        public var bytes: Data
        /// The bytes as UTF-8, invalid sequences replaced (U+FFFD).
        public var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    public let url: URL
    private let fd: Int32
    /// The complete lines present when the file was opened.
    public let lines: [Line]
    /// Bytes of a torn final line removed on opening (0 if none).
    public let repairedBytes: Int
    /// False when the filesystem refused `flock` (the file is used without the lock).
    public private(set) var lockSupported = true

    /// Opens (creating it and its directory if needed) `url` for appending; `purpose` names the
    /// command in the error when another process holds the lock.
    public init(url: URL, purpose: String) throws {
        self.url = url
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let created = !FileManager.default.fileExists(atPath: url.path)
        let fd = open(url.path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AppendOnlyLinesError(file: url.path, problem: "cannot open: \(Self.reason())") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            // Filesystems that do not implement flock (some NFS/Lustre mounts) answer ENOLCK or
            // EOPNOTSUPP: go on without the lock. Nothing depends on it for correctness when each
            // writer has its own file; it only guards against starting the same one twice by hand.
            let e = errno
            if e == ENOLCK || e == EOPNOTSUPP || e == ENOSYS || e == EINVAL {
                lockSupported = false
            } else {
                close(fd)
                throw AppendOnlyLinesError(
                    file: url.path, problem: "another process (\(purpose)) is appending to this file (it is locked)",
                    isLocked: true)
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
    public static func read(_ url: URL) throws -> [Line] {
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

    /// The non-empty lines of `data`, numbered from 1 (an unterminated final line included).
    public static func split(_ data: Data) -> [Line] {
        var result: [Line] = []
        var number = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            guard !line.isEmpty else { continue }
            result.append(Line(number: number, bytes: Data(line)))
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
    /// True when another process holds the file's lock.
    public var isLocked = false
    public var description: String { "\(file): \(problem)" }
}
