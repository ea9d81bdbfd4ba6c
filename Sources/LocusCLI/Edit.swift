import ArgumentParser
import Foundation
import LocusData
import LocusEditing
import LocusExperiments
import LocusModel

/// `locus edit`: ROME and FT-L edits (METHODS.md §7) and the localization analyses (§8).
struct Edit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Edit a fact with ROME or FT-L; run the Hase / interchange analyses from a recipe.",
        subcommands: [EditROME.self, EditFT.self, EvalCounterFact.self, EditRecipe.self])
}

/// One fact given on the command line, or CounterFact records.
struct SingleEditOptions: ParsableArguments {
    @Option(help: "Prompt containing the subject.") var prompt: String?
    @Option(help: "Subject.") var subject: String?
    @Option(help: "New object (no leading space).") var target: String?
    @Option(help: "Greedy tokens generated before and after the edit.") var generate: Int = 20
}

struct EditROME: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rome",
        abstract: "Rank-one edit of one fact, scored before/after, then undone exactly.")
    @OptionGroup var options: ModelOptions
    @OptionGroup var edit: EditSettings
    @OptionGroup var fact: SingleEditOptions

    func run() throws { try runSingle(method: "rome", options: options, edit: edit, fact: fact) }
}

struct EditFT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ft", abstract: "FT-L: constrained fine-tuning of one MLP down projection.")
    @OptionGroup var options: ModelOptions
    @OptionGroup var edit: EditSettings
    @OptionGroup var fact: SingleEditOptions

    func run() throws { try runSingle(method: "ft", options: options, edit: edit, fact: fact) }
}

func runSingle(method: String, options: ModelOptions, edit: EditSettings, fact: SingleEditOptions) throws {
    guard let prompt = fact.prompt, let subject = fact.subject, let target = fact.target else {
        throw ValidationError("give --prompt, --subject and --target (or use `locus edit counterfact`)")
    }
    let lm = try options.load()
    let session = EditSession(
        lm: lm, modelSHA256: try SHA256.hex(ofCheckpoint: options.resolvedURL()), settings: edit.configuration,
        threads: options.threads)
    let request = EditRequest(prompt: prompt, subject: subject, target: target)
    let targetTokens = request.targetTokens(lm.tokenizer)
    let promptTokens = lm.tokenizer.encodePrompt(prompt)
    func score() throws -> Double {
        try lm.model.scoreContinuations(prompt: promptTokens, continuations: [targetTokens])[0].total
    }
    let original = WeightBackup(model: lm.model, layers: [edit.layer]).original[edit.layer]!
    let before = try score()
    let genBefore = try session.generation(prompt, tokens: fact.generate)
    let (backup, info) = try session.apply(request, method: method, layer: edit.layer)
    let after = try score()
    let genAfter = try session.generation(prompt, tokens: fact.generate)
    backup?.restore(into: lm.model)
    let restored = WeightBackup(model: lm.model, layers: [edit.layer]).original[edit.layer]!
    let exact = zip(original, restored).allSatisfy { $0.bitPattern == $1.bitPattern }
    printError("before: \(prompt)\(genBefore)\nafter:  \(prompt)\(genAfter)\nundo bit-identical: \(exact)")
    printJSON(.object([
        ("prompt", .string(prompt)), ("subject", .string(subject)), ("target", .string(target)),
        ("log_p_target_before", .double(before)), ("log_p_target_after", .double(after)),
        ("generation_before", .string(genBefore)), ("generation_after", .string(genAfter)),
        ("undo_bit_identical", .bool(exact)), ("optimisation", info),
        ("configuration", session.configuration(method: method)),
    ]))
}
