import Foundation

/// Opening files for reading: memory-mapped, so a 100 MB checkpoint costs no copy and no time
/// until its pages are touched.
enum MappedFile {
    /// The file's bytes, mapped; `.cannotOpen` naming the file when it cannot be read.
    static func map(_ url: URL) throws(CheckpointError) -> Data {
        do {
            return try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw CheckpointError(file: url.path, problem: .cannotOpen(reason(error)))
        }
    }

    /// A short reason for an open failure ("no such file" rather than a Cocoa error dump).
    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain,
           let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return String(cString: strerror(code.rawValue))
        }
        return nsError.localizedDescription
    }

    /// Whether `url` names an existing directory.
    static func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
            && isDirectory.boolValue
    }
}
