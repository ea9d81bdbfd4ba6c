import ArgumentParser
import Foundation
import LocusRecipes

/// `locus edit recipe FILE`: a thin alias of `locus run FILE` for the Hase and interchange
/// recipes (Recipes/hase-*.json, Recipes/interchange-*.json), which are `locus run` recipes
/// with one run per fact: resumable, shardable (`--shard`, `locus slurm submit`), reported by
/// `locus report`.
struct EditRecipe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipe",
        abstract: "Run a Hase or interchange recipe (an alias of `locus run FILE`; report with `locus report`).")
    @Argument(help: "Recipe file.") var file: String
    @Option(help: "Worker threads for BLAS.") var threads: Int = BatchEnvironment.defaultThreads()

    func run() throws {
        var command = try Run.parse([file, "--threads", "\(threads)"])
        try command.run()
    }
}
