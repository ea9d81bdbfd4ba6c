import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whole-file writes that a crash cannot leave half done: the bytes go to a temporary file in
/// the destination's directory, are flushed to disk (`fsync`), and the temporary file is then
/// renamed over the destination (`rename(2)` is atomic within one file system), and the
/// directory is flushed so the rename itself survives a power cut. A reader therefore sees the
/// old file or the complete new one, never a truncated one. Every output the README calls
/// atomic (probe rankings, `eval` outputs, reports, steering files, traces, caches) goes
/// through here.
public enum AtomicFile {
    /// Writes `data` to `url` atomically, creating missing parent directories.
    public static func write(_ data: Data, to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let temporary = directory.appendingPathComponent(
            ".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).\(UInt32.random(in: 0...UInt32.max)).tmp")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AtomicFileError(url: url, operation: "create a temporary file", code: errno) }
        var written = 0
        let ok: Bool = data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return true }
            while written < raw.count {
                let n = Glibc_write(fd, base + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += n
            }
            return true
        }
        let writeErrno = errno
        guard ok else {
            close(fd)
            unlink(temporary.path)
            throw AtomicFileError(url: url, operation: "write", code: writeErrno)
        }
        guard fsync(fd) == 0 else {
            let e = errno
            close(fd)
            unlink(temporary.path)
            throw AtomicFileError(url: url, operation: "fsync", code: e)
        }
        close(fd)
        guard rename(temporary.path, url.path) == 0 else {
            let e = errno
            unlink(temporary.path)
            throw AtomicFileError(url: url, operation: "rename into place", code: e)
        }
        // Flush the directory entry (best effort: some file systems refuse fsync on a directory).
        let dfd = open(directory.path, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// Writes `text` as UTF-8 to `url` atomically.
    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }
}

@inline(__always)
private func Glibc_write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        Glibc.write(fd, buffer, count)
    #else
        Darwin.write(fd, buffer, count)
    #endif
}

/// An atomic write that failed; the destination is untouched.
public struct AtomicFileError: Error, CustomStringConvertible {
    public let url: URL
    public let operation: String
    public let code: Int32

    public var description: String {
        "\(url.path): cannot \(operation) (\(String(cString: strerror(code))))"
    }
}
