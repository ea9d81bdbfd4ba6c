import Foundation
import LocusData

/// Where this process's executable is, for finding the data folder and default model beside the
/// package when a command runs from elsewhere.
public enum ExecutableLocation {
    /// This executable, absolute: `/proc/self/exe` on Linux, else argv[0] against the launch
    /// directory. Read once (the CLI reads it before changing into `--workdir`), so a relative
    /// argv[0] cannot go stale.
    public static let url: URL = {
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: target)
        }
        let path = (CommandLine.arguments[0] as NSString).expandingTildeInPath
        if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardizedFileURL }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            .appendingPathComponent(path).standardizedFileURL
    }()
}

/// The data folder: `override` (a `--data` option), else $LOCUS_DATA, else ../shared/data beside
/// the package (searched from the current directory, then from the executable's).
public func dataLocation(_ override: String?) throws -> DataLocation {
    if let override { return DataLocation(root: URL(fileURLWithPath: override)) }
    return try DataLocation.resolve(searchFrom: [
        URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
        ExecutableLocation.url.deletingLastPathComponent(),
    ])
}
