/// A failure of an experiment (a run's parameters, a ranking file made with another model, a
/// recipe field out of range): the message names the field or file. The CLI prints it as
/// `Error: message`; a sweep writes it into the run's error record.
public struct ExperimentError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Notes on standard error (progress, what a run is doing), keeping standard output for results.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

import Foundation

extension Optional {
    /// The wrapped value, or `error` thrown.
    func orThrow(_ error: @autoclosure () -> Error) throws -> Wrapped {
        guard let value = self else { throw error() }
        return value
    }
}
