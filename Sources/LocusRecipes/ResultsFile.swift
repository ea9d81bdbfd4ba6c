import Foundation
import LocusCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An append-only JSON-lines results file, written so that a crash never corrupts or duplicates
/// a record:
/// - each record is one line written with a single `write(2)` to an `O_APPEND` descriptor and
///   then `fsync`ed, so a record is either wholly on disk or (if the process dies mid-write, or
///   the machine loses power before the sync) a torn final line without its newline;
/// - on opening, a torn final line (no trailing newline) is cut off with `ftruncate` and synced,
///   so the interrupted run is simply run again;
/// - an exclusive `flock` keeps two runners from appending to the same file at once (shards on
///   several machines write separate files and merge them in the report); where the filesystem
///   does not implement `flock` (ENOLCK, EOPNOTSUPP on some NFS/Lustre mounts) the file is used
///   unlocked, which is safe because no two shards share a file.
public final class ResultsFile {
    public let url: URL
    private let fd: Int32
    /// Records read when the file was opened (valid lines only).
    public private(set) var records: [RunRecord]
    /// Bytes of a torn final line removed on opening (0 if none).
    public let repairedBytes: Int
    /// Lines that were complete but did not parse (skipped; kept in the file).
    public let skippedLines: [Int]
    /// False when the filesystem refused `flock` (the file is used without the lock).
    public private(set) var lockSupported = true

    public init(url: URL) throws {
        self.url = url
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let created = !FileManager.default.fileExists(atPath: url.path)
        let fd = open(url.path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.posixError("open", url.path) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            // Filesystems that do not implement flock (some NFS/Lustre mounts) answer ENOLCK or
            // EOPNOTSUPP: go on without the lock. Nothing depends on it for correctness when
            // each writer has its own file (one file per shard, as `locus slurm` arranges);
            // it only guards against starting the same shard twice by hand.
            let e = errno
            if e == ENOLCK || e == EOPNOTSUPP || e == ENOSYS || e == EINVAL {
                lockSupported = false
            } else {
                close(fd)
                throw RecipeError(
                    file: url.path, path: "",
                    "another `locus run` is writing this results file (it is locked); use a different --results")
            }
        }
        if created {
            fsync(fd)
            Self.syncDirectory(url.deletingLastPathComponent())
        }
        self.fd = fd
        let data = try Data(contentsOf: url)
        var repaired = 0
        var usable = data
        if let last = data.last, last != UInt8(ascii: "\n") {
            let cut = (data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
            repaired = data.count - cut
            guard ftruncate(fd, off_t(cut)) == 0 else { throw Self.posixError("ftruncate", url.path) }
            fsync(fd)
            usable = data.prefix(cut)
        }
        repairedBytes = repaired
        let parsed = Self.parse(usable, file: url.path)
        records = parsed.records
        skippedLines = parsed.skipped
    }

    /// The records of a results file as they are, for looking without writing (`--dry-run`):
    /// no lock is taken (so it works while a sweep appends), nothing is created or repaired (a
    /// torn final line is just not counted), and `append` throws.
    public init(readingOnly url: URL) throws {
        self.url = url
        fd = -1
        repairedBytes = 0
        if FileManager.default.fileExists(atPath: url.path) {
            let parsed = try Self.read(url)
            records = parsed.records
            skippedLines = parsed.skipped
        } else {
            records = []
            skippedLines = []
        }
    }

    deinit {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// Appends one record as one line, durably (single write, then fsync).
    public func append(_ record: RunRecord) throws {
        guard fd >= 0 else { throw RecipeError(file: url.path, path: "", "opened read-only; cannot append") }
        let bytes = Array((record.json.text + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            // A short write leaves a torn line; cut it so the file stays line-aligned.
            let error = Self.posixError("write", url.path)
            if written > 0 {
                let size = lseek(fd, 0, SEEK_END)
                _ = ftruncate(fd, size - off_t(written))
            }
            throw error
        }
        guard fsync(fd) == 0 else { throw Self.posixError("fsync", url.path) }
        records.append(record)
    }

    /// Reads the valid records of a results file without locking or repairing it (for reports).
    public static func read(_ url: URL) throws -> (records: [RunRecord], skipped: [Int]) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw RecipeError(file: url.path, path: "", "cannot read the results file (\(error.localizedDescription))")
        }
        return parse(data, file: url.path)
    }

    static func parse(_ data: Data, file: String) -> (records: [RunRecord], skipped: [Int]) {
        var records: [RunRecord] = []
        var skipped: [Int] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            guard !line.isEmpty else { continue }
            guard let text = String(data: Data(line), encoding: .utf8),
                let json = try? JSONValue.parse(text, file: file),
                let record = try? RunRecord(json: json)
            else {
                skipped.append(lineNumber)
                continue
            }
            records.append(record)
        }
        return (records, skipped)
    }

    static func posixError(_ call: String, _ path: String) -> RecipeError {
        RecipeError(file: path, path: "", "\(call) failed: \(String(cString: strerror(errno)))")
    }

    static func syncDirectory(_ url: URL) {
        let d = open(url.path, O_RDONLY | O_CLOEXEC)
        guard d >= 0 else { return }
        fsync(d)
        close(d)
    }
}
