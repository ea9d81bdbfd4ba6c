import ArgumentParser
import Foundation
import LocusData
import LocusEditing
import LocusExperiments
import LocusModel

/// `locus eval counterfact` (a type for the `eval` command's subcommand list): edit each of N
/// CounterFact records with ROME or FT-L (or none), score rewrite/paraphrase/neighbourhood
/// before and after, undo, and summarise (METHODS.md §7).
struct EvalCounterFact: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "counterfact",
        abstract: "CounterFact efficacy, paraphrase and neighbourhood of ROME/FT-L edits.")

    @OptionGroup var options: ModelOptions
    @OptionGroup var edit: EditSettings
    @Option(help: "Method: rome, ft or none.") var method: String = "rome"
    @Option(help: "Records to edit.") var records: Int = 100
    @Option(help: "First record (index into the file).") var offset: Int = 0
    @Option(help: "CounterFact file inside the data folder.") var file: String = "counterfact/counterfact-val.json"
    @Option(help: "Greedy tokens generated before and after each edit (0 = none).") var generate: Int = 0

    func run() throws {
        let lm = try options.load()
        let session = EditSession(
            lm: lm, modelSHA256: try SHA256.hex(ofCheckpoint: options.resolvedURL()), settings: edit.configuration,
            threads: options.threads)
        let data = try DataLocation.resolve(
            searchFrom: [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)])
        let all = try CounterFact.load(data.url(file))
        let chosen = Array(all.dropFirst(offset).prefix(records))
        let summary = try session.evaluate(
            chosen, method: method, generate: generate, label: "counterfact \(method)",
            onRecord: { record in
                printJSON(record)
                fflush(nil)  // flush every stream: one line per record, visible while the run continues
            })
        printJSON(summary)
    }
}

/// Edit settings shared by `edit rome|ft` and `eval counterfact`.
struct EditSettings: ParsableArguments {
    @Option(help: "Layer to edit.") var layer: Int = 12
    @Option(help: "ROME: loss evaluations for δ (v_num_grad_steps; at most steps − 1 updates).") var steps: Int = 20
    @Option(help: "ROME: generated context prefixes for k* and v*.") var contexts: Int = 20
    @Option(help: "ROME: seed of the context prefixes (sampled: the top-k draws; greedy: the opening words).") var contextSeed: UInt64 = 0
    @Option(help: "ROME: context prefixes: sampled (ROME: top-5 sampling from <|endoftext|>, 4 and 9 new tokens) or greedy (Locus's earlier rule: opening words continued greedily).")
    var contextPrefixes: String = ContextPrefixStyle.sampled.rawValue
    @Option(help: "ROME: learning rate of δ.") var learningRate: Double = 0.5
    @Option(help: "ROME: KL factor.") var klFactor: Double = 0.0625
    @Option(help: "ROME: early stop: total-loss (ROME: loss < 0.05) or never (belief-localization's ROME).")
    var romeEarlyStop: String = ROMEEarlyStop.totalLoss.rawValue
    @Option(help: "ROME: key in the update's denominator: prompt (ROME: k of the unprefixed prompt) or averaged (k over the contexts).")
    var romeUpdateKey: String = ROMEUpdateKey.prompt.rawValue
    @Option(help: "Key statistics: wikitext-2 split.") var statsSplit: String = "test"
    @Option(help: "Key statistics: tokens per chunk.") var statsChunkTokens: Int = 128
    @Option(help: "Key statistics: chunks.") var statsChunks: Int = 256
    @Option(help: "Key statistics: seed of the chunk sample.") var statsSeed: UInt64 = 0
    @Option(help: "Key statistics cache folder.") var statsCache: String = "runs/cache/key-statistics"
    @Option(help: "FT-L: steps.") var ftSteps: Int = 25
    @Option(help: "FT-L: learning rate.") var ftLearningRate: Double = 5e-4
    @Option(help: "FT-L: L∞ bound ε.") var ftEpsilon: Float = 5e-4

    /// The library's settings with these options.
    var configuration: EditConfiguration {
        var c = EditConfiguration(
            layer: layer, steps: steps, contexts: contexts, contextSeed: contextSeed, learningRate: learningRate,
            klFactor: klFactor, romeEarlyStop: romeEarlyStop, romeUpdateKey: romeUpdateKey, statsSplit: statsSplit,
            statsChunkTokens: statsChunkTokens, statsChunks: statsChunks, statsSeed: statsSeed,
            statsCache: statsCache, ftSteps: ftSteps, ftLearningRate: ftLearningRate, ftEpsilon: ftEpsilon)
        c.contextPrefixes = contextPrefixes
        return c
    }

    func validate() throws {
        guard ROMEEarlyStop(rawValue: romeEarlyStop) != nil else {
            throw ValidationError("--rome-early-stop: total-loss or never, not '\(romeEarlyStop)'")
        }
        guard ContextPrefixStyle(rawValue: contextPrefixes) != nil else {
            throw ValidationError("--context-prefixes: sampled or greedy, not '\(contextPrefixes)'")
        }
        guard ROMEUpdateKey(rawValue: romeUpdateKey) != nil else {
            throw ValidationError("--rome-update-key: prompt or averaged, not '\(romeUpdateKey)'")
        }
    }
}
