import ArgumentParser
import Foundation
import LocusData
import LocusExperiments
import LocusEditing
import LocusFigures
import LocusModel
import LocusTracing

/// `locus edit recipe FILE`: the Hase et al. analysis ("analysis": "hase") or Reber's
/// interchange-agreement test ("analysis": "interchange") from a recipe in Recipes/.
///
/// Results go to `<output>/results.jsonl`, one record per fact, rewritten atomically after
/// each fact (temp file + rename); a rerun skips facts already there (resume). The table and
/// figure are written at the end from all records.
struct EditRecipe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipe",
        abstract: "Run a Hase or interchange analysis recipe (Recipes/*.json), resumable.")
    @Argument(help: "Recipe file.") var file: String
    @Option(help: "Worker threads for BLAS.") var threads: Int = 2

    func run() throws {
        let recipe = try AnalysisRecipe.load(URL(fileURLWithPath: file))
        var options = try ModelOptions.parse(["--threads", "\(threads)"] + (recipe.model.map { ["--model", $0] } ?? []))
        options.threads = threads
        let lm = try options.load()
        let analysis = LocalizationAnalysis(recipe: recipe)
        let (summary, table) = try analysis.run(
            lm: lm, modelSHA256: SHA256.hex(ofCheckpoint: try options.resolvedURL()), threads: options.threads)
        printJSON(summary)
        printError(table)
    }
}
