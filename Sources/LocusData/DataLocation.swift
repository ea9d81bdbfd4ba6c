import Foundation

/// Where the shared data sets live: `$LOCUS_DATA`, or `../shared/data` next to the package root.
///
/// Locus never copies data into the repository; every loader takes a path, and this helper only
/// decides the default folder. Paths inside it follow `Data/manifest.json`
/// (`truthfulqa/TruthfulQA.csv`, `corpus/wikitext2-test.txt`, …).
public struct DataLocation: Sendable, Equatable {
    /// The data folder.
    public var root: URL

    public init(root: URL) { self.root = root }

    /// The name of the environment variable that overrides the default folder.
    public static let environmentVariable = "LOCUS_DATA"

    /// `../shared/data` relative to a package root.
    public init(packageRoot: URL) {
        root = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
    }

    /// `$LOCUS_DATA` when set, else `../shared/data` relative to the first package root (a folder
    /// holding `Package.swift`) found at or above one of `searchFrom`.
    public static func resolve(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        searchFrom starts: [URL]
    ) throws -> DataLocation {
        if let value = environment[environmentVariable], !value.isEmpty {
            return DataLocation(root: URL(fileURLWithPath: value))
        }
        let fm = FileManager.default
        for start in starts {
            var dir = start.standardizedFileURL
            for _ in 0..<8 {
                if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
                    let candidate = DataLocation(packageRoot: dir)
                    if fm.fileExists(atPath: candidate.root.path) { return candidate }
                }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        throw DataError(
            file: "../shared/data",
            problem: "data folder not found: set $\(environmentVariable) or run from the package")
    }

    /// A file inside the data folder, e.g. `url("truthfulqa/TruthfulQA.csv")`.
    public func url(_ relativePath: String) -> URL { root.appendingPathComponent(relativePath) }

    public var truthfulQACSV: URL { url("truthfulqa/TruthfulQA.csv") }
    public var truthfulQAMultipleChoice: URL { url("truthfulqa/mc_task.json") }
    /// wikitext-2 raw text, `split` = "valid" or "test".
    public func wikiText2(_ split: String) -> URL { url("corpus/wikitext2-\(split).txt") }
}
