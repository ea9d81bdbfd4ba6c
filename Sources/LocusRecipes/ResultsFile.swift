import Foundation
import LocusCore

/// An append-only JSON-lines results file, written so that a crash never corrupts or duplicates
/// a record: one `RunRecord` per line of an `AppendOnlyLines` file (each line one `write(2)` to an
/// `O_APPEND` descriptor, then `fsync`; a torn final line cut off on opening, so the interrupted
/// run is simply run again; an exclusive `flock` keeps two runners from appending to the same
/// file, and where the filesystem does not implement `flock` — ENOLCK, EOPNOTSUPP on some
/// NFS/Lustre mounts — the file is used unlocked, which is safe because shards on several
/// machines write separate files and merge them in the report).
public final class ResultsFile {
    public let url: URL
    /// nil when opened read-only.
    private let file: AppendOnlyLines?
    /// Records read when the file was opened (valid lines only).
    public private(set) var records: [RunRecord]
    /// Bytes of a torn final line removed on opening (0 if none).
    public let repairedBytes: Int
    /// Lines that were complete but did not parse (skipped; kept in the file).
    public let skippedLines: [Int]
    /// False when the filesystem refused `flock` (the file is used without the lock).
    public var lockSupported: Bool { file?.lockSupported ?? true }

    public init(url: URL) throws {
        self.url = url
        let file: AppendOnlyLines
        do { file = try AppendOnlyLines(url: url, purpose: "locus run") } catch let e as AppendOnlyLinesError {
            throw RecipeError(
                file: e.file, path: "",
                e.isLocked
                    ? "another `locus run` is writing this results file (it is locked); use a different --results"
                    : e.problem)
        }
        self.file = file
        repairedBytes = file.repairedBytes
        let parsed = Self.parse(file.lines, file: url.path)
        records = parsed.records
        skippedLines = parsed.skipped
    }

    /// The records of a results file as they are, for looking without writing (`--dry-run`):
    /// no lock is taken (so it works while a sweep appends), nothing is created or repaired (a
    /// torn final line is just not counted), and `append` throws.
    public init(readingOnly url: URL) throws {
        self.url = url
        file = nil
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

    /// Appends one record as one line, durably (single write, then fsync).
    public func append(_ record: RunRecord) throws {
        guard let file else { throw RecipeError(file: url.path, path: "", "opened read-only; cannot append") }
        do { try file.append(record.json.text) } catch let e as AppendOnlyLinesError {
            throw RecipeError(file: e.file, path: "", e.problem)
        }
        records.append(record)
    }

    /// Reads the valid records of a results file without locking or repairing it (for reports).
    public static func read(_ url: URL) throws -> (records: [RunRecord], skipped: [Int]) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw RecipeError(file: url.path, path: "", "cannot read the results file (\(error.localizedDescription))")
        }
        return parse(AppendOnlyLines.split(data), file: url.path)
    }

    /// The records among `lines`; a line that is not UTF-8, not JSON or not a record is skipped.
    static func parse(_ lines: [AppendOnlyLines.Line], file: String) -> (records: [RunRecord], skipped: [Int]) {
        var records: [RunRecord] = []
        var skipped: [Int] = []
        for line in lines {
            guard let text = String(data: line.bytes, encoding: .utf8),
                let json = try? JSONValue.parse(text, file: file),
                let record = try? RunRecord(json: json)
            else {
                skipped.append(line.number)
                continue
            }
            records.append(record)
        }
        return (records, skipped)
    }
}
