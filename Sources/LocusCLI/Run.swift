import LocusCore
import ArgumentParser
import Foundation
import LocusData
import LocusEvaluation
import LocusExperiments
import LocusInterventions
import LocusModel
import LocusProbing
import LocusRecipes
import LocusScrubbing
import LocusSteering

/// `locus run RECIPE`: expands a recipe into runs and executes those the results file lacks.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a recipe's sweep (resumable, shardable); one JSON line per finished run.",
        discussion: """
            Expands RECIPE (Recipes/README.md) into runs with stable IDs and executes those not \
            yet in the results file, appending one record per run (one write to an O_APPEND file, \
            then fsync). Interrupt it at any time (Ctrl-C, kill -9, power loss) and start the same \
            command again: finished runs are skipped, the run in progress is redone, nothing is \
            duplicated. A failing run writes an error record and is retried on the next start \
            (--no-retry-failed skips it). --shard i/n (0 ≤ i < n) runs the runs whose ID hash is \
            i modulo n, so n machines share a sweep; `locus report` merges their files. \
            Methods with executors: iti, ipo, dpo, scrub, ablate, hase, interchange (one fact per run).
            """)

    @Argument(help: "The recipe file (JSON).") var recipe: String
    @Option(help: "Results file (default runs/sweeps/<recipe name>[.shard-i-of-n].jsonl).") var results: String?
    @Option(help: "Run only part i of n (0 ≤ i < n), by run-ID hash.") var shard: String = "0/1"
    @Flag(inversion: .prefixedNo, help: "Retry runs whose earlier attempt failed.") var retryFailed = true
    @Option(help: "Stop after this many runs (0 = all).") var limit: Int = 0
    @Flag(help: "List the runs (ID, done?, label) and exit.") var dryRun = false
    @Option(help: "Results files of other sweeps: runs with the same ID are copied, not run again.")
    var reuse: [String] = []
    @Option(help: "Data folder (default $LOCUS_DATA or ../shared/data).") var data: String?
    @Option(help: "Folder that recipe paths, caches and default outputs resolve against (default: the current one).")
    var workdir: String?
    @Option(help: "A shard plan (plan.json of `locus slurm submit`): --shard i/n runs the plan's shard i, not a hash split.")
    var plan: String?
    @OptionGroup var options: ModelOptions
    @Option(help: .hidden) var executor: String = "model"
    @Option(help: .hidden) var fakeSleep: Double = 0

    func validate() throws {
        guard Shard(parsing: shard) != nil else {
            throw ValidationError("--shard must be i/n with 0 ≤ i < n, e.g. 0/2 and 1/2")
        }
        guard ["model", "fake"].contains(executor) else { throw ValidationError("--executor must be model or fake") }
    }

    mutating func run() throws {
        try enterWorkdir()
        let recipeURL = URL(fileURLWithPath: recipe)
        let parsed: Recipe
        do { parsed = try Recipe.load(recipeURL) } catch let e as RecipeError {
            throw ValidationError(e.description)
        }
        let shard = Shard(parsing: shard)!
        let resultsURL = URL(fileURLWithPath: results ?? Self.defaultResults(parsed, shard: shard))

        var registry = ExecutorRegistry()
        let shape: ModelShape
        if executor == "fake" {
            shape = ModelShape(layerCount: 30, headCount: 9)
            let fake = FakeExecutor(sleep: fakeSleep)
            for kind in MethodSchema.builtIn.keys { registry.register(kind, fake) }
        } else {
            var modelOptions = options
            if modelOptions.model == nil && parsed.model != "default" { modelOptions.model = parsed.model }
            let lm = try modelOptions.load()
            shape = ModelShape(layerCount: lm.config.layerCount, headCount: lm.config.headCount)
            let evaluation = try TruthfulQARunEvaluator(
                model: lm, location: dataLocation(data), weights: modelOptions.weights)
            // Each method plugs in with one line.
            registry.register("iti", ITIExecutor(evaluation: evaluation))
            registry.register("ipo", PreferenceExecutor(evaluation: evaluation))
            registry.register("dpo", PreferenceExecutor(evaluation: evaluation))
            registry.register("scrub", ScrubExecutor(model: lm, data: data))
            registry.register("ablate", AblateExecutor(model: lm, data: data))
            let analyses = LocalizationExecutor(
                model: lm, modelSHA256: evaluation.modelSHA, threads: modelOptions.threads, data: data)
            registry.register("hase", analyses)
            registry.register("interchange", analyses)
        }

        let runs: [RunSpec]
        do { runs = try RecipeExpansion.runs(parsed, shape: shape) } catch let e as RecipeError {
            throw ValidationError("\(recipe): \(e)")
        }
        // --dry-run only looks: no lock (so it shows progress while a sweep runs), no file created.
        let file = dryRun ? try ResultsFile(readingOnly: resultsURL) : try ResultsFile(url: resultsURL)
        if file.repairedBytes > 0 {
            printError("results: cut a torn final line (\(file.repairedBytes) bytes) from \(resultsURL.path); that run will be redone")
        }
        if !file.skippedLines.isEmpty {
            printError("results: skipped unreadable lines \(file.skippedLines) of \(resultsURL.path)")
        }
        let runner = SweepRunner(runs: runs, results: file, shard: shard, executor: registry, retryFailed: retryFailed)
        runner.limit = limit
        if let plan { runner.plan = try Self.loadPlan(plan, runs: runs, shard: shard) }
        for path in reuse {
            for r in try ResultsFile.read(URL(fileURLWithPath: path)).records where r.isOK { runner.reusable[r.runID] = r }
        }
        if dryRun {
            let done = runner.doneIDs
            let index = runner.reusableIndex()
            var reusable = 0
            for r in runner.shardRuns {
                let state = done.contains(r.runID) ? "done" : runner.reusableRecord(for: r, index: index) != nil ? "reuse" : "todo"
                if state == "reuse" { reusable += 1 }
                print("\(r.runID)  \(state)  \(r.label)")
            }
            printError("\(runner.shardRuns.count) runs in shard \(shard) (\(runs.count) in the recipe), \(runner.pending.count) to do, \(reusable) of them copied from --reuse files")
            return
        }
        let missing = Set(runner.pending.map(\.method)).filter { !registry.supports($0) }
        if !missing.isEmpty {
            throw ValidationError("no executor for method(s) \(missing.sorted().joined(separator: ", ")) yet")
        }
        printError("recipe \(parsed.name) (\(parsed.variant.rawValue)): \(runs.count) runs; shard \(shard); results \(resultsURL.path)")
        runner.progress = ProgressBar()
        let summary = try runner.run()
        printJSON(.object([
            ("command", .string("locus run")), ("recipe", .string(parsed.name)), ("results", .string(resultsURL.path)),
            ("shard", .string(shard.description)), ("runs", .int(summary.total)),
            ("already_done", .int(summary.alreadyDone)), ("completed", .int(summary.completed)),
            ("failed", .int(summary.failed)), ("reused", .int(summary.reused)),
            ("seconds", .double(summary.seconds)),
        ]))
        if summary.failed > 0 { throw ExitCode(3) }
    }

    static func defaultResults(_ recipe: Recipe, shard: Shard) -> String {
        let base = "runs/sweeps/\(recipe.name)"
        return shard.count == 1 ? base + ".jsonl" : base + ".shard-\(shard.index)-of-\(shard.count).jsonl"
    }
}
