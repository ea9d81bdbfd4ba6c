import ArgumentParser

@main
struct Locus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "locus",
        abstract: "Find, optimise and test localized edits inside language models.",
        discussion: """
            Without --model, commands use the default model, \
            models/SmolLM2-135M-Instruct.Q4_1.gguf (fetch it with scripts/fetch-model.sh), \
            or the path in $LOCUS_MODEL.
            """,
        subcommands: [
            Inspect.self, Tokenize.self, LogitsCommand.self, Generate.self, Bench.self, Steer.self,
            Probe.self, Eval.self, Trace.self, Edit.self, Run.self, Report.self, Ablate.self, Scrub.self,
            Slurm.self,
        ])

    /// Parses (ArgumentParser prints usage for a bad command line), then runs. A
    /// `ValidationError` thrown while running is a runtime failure, not a usage mistake: it is
    /// printed as `Error: …` without the usage line (issue 10).
    static func main() {
        // Swift repairs invalid UTF-8 in arguments to U+FFFD silently; a prompt must arrive as
        // typed, so such an argument is an error naming it.
        for i in 1..<Int(CommandLine.argc) {
            guard let raw = CommandLine.unsafeArgv[i], String(validatingCString: raw) == nil else { continue }
            exit(withError: RunFailure(
                "argument \(i) (\(String(cString: raw).debugDescription)) is not valid UTF-8 text"))
        }
        var command: any ParsableCommand
        do { command = try parseAsRoot() } catch { exit(withError: error) }
        do { try command.run() } catch let error as ValidationError {
            exit(withError: RunFailure(error.message))
        } catch { exit(withError: error) }
    }
}

/// A failure while a command runs (bad data, a file that does not fit the model…): printed as
/// `Error: message`, exit status 1, without the usage line a command-line mistake gets.
struct RunFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
