import ArgumentParser
import Foundation
import LocusCore
import LocusData
import LocusModel
import LocusSteering

/// Options of every command that reads a preference file (`steer`, `eval preferences`): column
/// names, skipping malformed rows, and the prompt template the pairs are rendered in.
struct PreferenceDataOptions: ParsableArguments {
    @Option(help: "Column/field names of a preference file: prompt,chosen,rejected[,group].")
    var columns = "prompt,chosen,rejected"
    @Flag(help: "Skip malformed rows of a preference file (counted, first line numbers printed) instead of failing on the first.")
    var skipInvalidRows = false
    @Option(help: ArgumentHelp(
        "How a preference file's prompts are written out: plain (as in the file; answers after one space), chat (the model's chat template, one user turn + generation prompt) or custom (--template).",
        valueName: "plain|chat|custom"))
    var promptTemplate: String?
    @Option(help: "The pattern of --prompt-template custom, with {prompt} once, e.g. \"Question: {prompt}\\nAnswer:\".")
    var template: String?

    func validate() throws {
        guard PreferenceFile.Columns(parsing: columns) != nil else {
            throw ValidationError("--columns needs prompt,chosen,rejected[,group], got '\(columns)'")
        }
        if let promptTemplate, !["plain", "chat", "custom"].contains(promptTemplate) {
            throw ValidationError("--prompt-template must be plain, chat or custom, got '\(promptTemplate)'")
        }
        if promptTemplate == "custom" {
            guard let template else { throw ValidationError("--prompt-template custom needs --template \"…{prompt}…\"") }
            guard SteeringPromptTemplate.isValidPattern(template) else {
                throw ValidationError("--template must hold {prompt} exactly once, got \(template.debugDescription)")
            }
        } else if template != nil {
            throw ValidationError("--template is the pattern of --prompt-template custom")
        }
    }

    /// The template asked for (nil when --prompt-template is not given); `chat` reads the model's
    /// chat template from the checkpoint.
    func requestedTemplate(model url: URL) throws -> SteeringPromptTemplate? {
        switch promptTemplate {
        case nil: return nil
        case "plain": return .bare
        case "custom": return .custom(pattern: template!)
        default:
            do { return .chat(pattern: try ChatTemplate.load(checkpoint: url).singleTurnPattern) } catch let e as ChatTemplate.Unsupported {
                throw RunFailure(e.description)
            }
        }
    }

    /// Reads a preference file with these columns; prints how many rows were skipped.
    func load(_ path: String, label: String) throws -> PreferenceFile.Contents {
        let contents = try PreferenceFile.load(
            URL(fileURLWithPath: path), columns: PreferenceFile.Columns(parsing: columns)!, skipInvalidRows: skipInvalidRows)
        if let summary = contents.skippedSummary(file: path) { printError("\(label): \(summary)") }
        return contents
    }
}

/// Prints a pass over data as `label: done/total pairs … ETA …` (the one `ProgressReporter`).
struct PassProgress {
    let reporter: ProgressReporter

    init(label: String) { reporter = ProgressReporter(label: label, unit: "pairs") }

    func update(_ done: Int, _ total: Int) {
        reporter.update(done, total)
        if done == total { reporter.finish() }
    }
}
