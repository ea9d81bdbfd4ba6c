import ArgumentParser
import Foundation

struct EditRecipe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipe", abstract: "Run a Hase or interchange analysis recipe (Recipes/*.json).")
    @Argument(help: "Recipe file.") var file: String
    func run() throws { throw ValidationError("not implemented yet") }
}
