import LocusCore
import Foundation
import LocusExperiments

/// Prints one JSON value on a line.
func printJSON(_ value: JSONValue) {
    print(value.text)
}

/// Writes to standard error (progress, notes), keeping standard output for results.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
