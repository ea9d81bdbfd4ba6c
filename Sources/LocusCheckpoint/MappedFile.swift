import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opening files for reading: memory-mapped, so a 100 MB checkpoint costs no copy and no time
/// until its pages are touched.
enum MappedFile {
    /// The file's bytes, mapped read-only and private (`mmap(PROT_READ, MAP_PRIVATE)`, unmapped
    /// when the last `Data` referring to it goes); `.cannotOpen` naming the file when it cannot
    /// be read. The mapping is made here rather than by `Data(contentsOf:options:.alwaysMapped)`
    /// so that `release(_:range:)` can rely on it being a file mapping.
    static func map(_ url: URL) throws(CheckpointError) -> Data {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw CheckpointError(file: url.path, problem: .cannotOpen(String(cString: strerror(errno)))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw CheckpointError(file: url.path, problem: .cannotOpen(String(cString: strerror(errno))))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError(file: url.path, problem: .cannotOpen("not a regular file"))
        }
        let count = Int(info.st_size)
        if count == 0 { return Data() }
        guard let base = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw CheckpointError(file: url.path, problem: .cannotOpen(String(cString: strerror(errno))))
        }
        return Data(bytesNoCopy: base, count: count, deallocator: .custom { pointer, count in
            munmap(pointer, count)
        })
    }

    /// Drops the whole pages inside `range` of a mapping made by `map` from this process's
    /// resident set (`madvise(MADV_DONTNEED)`): the loader calls it once a tensor has been copied
    /// into its final buffer, so an fp32 checkpoint is not resident twice (its pages in the
    /// mapping and the copy). The bytes stay readable: the next access faults them in from the
    /// file again (a read-only private file mapping has no private pages to lose). Only for
    /// `Data` returned by `map`: on other memory it would discard contents.
    static func release(_ data: Data, range: Range<Int>) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0, range.lowerBound >= 0, range.upperBound <= data.count else { return }
        data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            let start = Int(bitPattern: base) + range.lowerBound
            let first = (start + page - 1) / page * page
            let end = (start + range.count) / page * page
            guard end > first, let pointer = UnsafeMutableRawPointer(bitPattern: first) else { return }
            _ = madvise(pointer, end - first, Int32(MADV_DONTNEED))
        }
    }

    /// Whether `url` names an existing directory.
    static func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
            && isDirectory.boolValue
    }
}
