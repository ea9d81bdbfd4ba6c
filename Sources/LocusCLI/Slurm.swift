import LocusCore
import ArgumentParser
import Foundation
import LocusExperiments
import LocusModel
import LocusRecipes

/// `locus slurm submit|status|resubmit|merge RECIPE`: a recipe's sweep as Slurm jobs (one array
/// job over cost-balanced shards, one report job after it), its state, and restarts.
struct Slurm: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a recipe's sweep on a Slurm cluster: submit, status, resubmit, merge.",
        discussion: """
            Everything lives in WORKDIR/runs/slurm/<recipe name>/: plan.json (runs balanced over \
            shards by estimated cost), array.sbatch and report.sbatch (readable; sbatch them by \
            hand if you like), one results file per shard, merged.jsonl, logs/ and \
            submissions.jsonl. The locus binary, the recipe, the model and the work directory \
            must be visible at the same paths on the compute nodes (a shared filesystem).
            """,
        subcommands: [SlurmSubmit.self, SlurmStatus.self, SlurmResubmit.self, SlurmMerge.self])
}

/// Options every `locus slurm` subcommand shares.
struct SlurmTarget: ParsableArguments {
    @Argument(help: "The recipe file (JSON).") var recipe: String
    @Option(help: "Folder that recipe paths, caches, results and reports resolve against (default: the current one).")
    var workdir: String?

    /// The recipe (absolute path, parsed) and the layout; changes into the work directory.
    func open() throws -> (recipe: Recipe, path: String, layout: SlurmLayout) {
        let path = Workdir.absolute(recipe)
        let dir = try Workdir.enter(workdir ?? FileManager.default.currentDirectoryPath)
        guard !dir.path.contains(where: \.isWhitespace) else {
            throw ValidationError("the work directory \(dir.path) has white space; #SBATCH lines cannot quote it")
        }
        let parsed: Recipe
        do { parsed = try Recipe.load(URL(fileURLWithPath: path)) } catch let e as RecipeError {
            throw ValidationError(e.description)
        }
        return (parsed, path, SlurmLayout(workdir: dir, recipeName: parsed.name))
    }
}

/// Runs a program found on PATH and returns its exit status and output.
func runTool(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    do { try p.run() } catch { throw ValidationError("cannot start \(arguments[0]): \(error)") }
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// `sbatch --parsable ARGS`: the job ID.
func sbatch(_ arguments: [String]) throws -> String {
    let r = try runTool(["sbatch", "--parsable"] + arguments)
    let id = r.out.split(separator: "\n").last.map { String($0.split(separator: ";")[0]) } ?? ""
    guard r.status == 0, !id.isEmpty, id.allSatisfy(\.isNumber) else {
        throw ValidationError("sbatch \(arguments.joined(separator: " ")) failed (exit \(r.status)): \(r.err.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    return id
}

/// A recipe's Slurm sweep as found on disk: plan, per-shard records, submitted jobs, and the
/// jobs' states in `squeue` (and `sacct` where accounting is enabled).
struct SlurmSweep {
    let layout: SlurmLayout
    let plan: ShardPlan

    struct ShardState {
        var index: Int
        var planned: Int
        var finished: Int
        var failed: Int
        var duplicates: Int
        var missing: [String]
        var estimatedHours: Double
    }

    init(layout: SlurmLayout) throws {
        self.layout = layout
        guard FileManager.default.fileExists(atPath: layout.plan.path) else {
            throw ValidationError("no \(layout.relativeFolder)/plan.json in \(layout.workdir.path): run `locus slurm submit` first")
        }
        do { plan = try ShardPlan.load(layout.plan) } catch let e as RecipeError { throw ValidationError(e.description) }
    }

    /// Records of one shard's file (none if it does not exist yet).
    func records(_ shard: Int) throws -> [RunRecord] {
        let url = layout.shardResults(shard, of: plan.shardCount)
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        return try ResultsFile.read(url).records
    }

    func shardStates() throws -> [ShardState] {
        let hours = plan.estimatedHours
        return try (0..<plan.shardCount).map { s in
            let mine = plan.entries(inShard: s)
            let recs = try records(s)
            let ok = Dictionary(grouping: recs.filter(\.isOK), by: \.runID)
            let failedIDs = Set(recs.filter { !$0.isOK }.map(\.runID)).subtracting(ok.keys)
            let missing = mine.map(\.runID).filter { ok[$0] == nil }
            return ShardState(
                index: s, planned: mine.count, finished: mine.count - missing.count,
                failed: failedIDs.count, duplicates: ok.values.reduce(0) { $0 + max(0, $1.count - 1) },
                missing: missing, estimatedHours: hours[s])
        }
    }

    /// Job IDs of every submission: (array jobs, report jobs).
    func submittedJobs() -> (arrays: [String], reports: [String]) {
        guard let text = try? String(contentsOf: layout.submissions, encoding: .utf8) else { return ([], []) }
        var arrays: [String] = [], reports: [String] = []
        for line in text.split(separator: "\n") {
            guard let j = try? JSONValue.parse(String(line)) else { continue }
            if let a = j["array_job"]?.string { arrays.append(a) }
            if let r = j["report_job"]?.string { reports.append(r) }
        }
        return (arrays, reports)
    }

    struct QueuedJob {
        var jobID: String  // 12_3 for array tasks
        var arrayJob: String
        var task: Int?
        var state: String
        var elapsed: String
        var reason: String
    }

    /// This sweep's jobs in `squeue` (array tasks expanded); nil if squeue is unavailable.
    func queued() -> [QueuedJob]? {
        let (arrays, reports) = submittedJobs()
        let mine = Set(arrays + reports)
        guard !mine.isEmpty else { return [] }
        guard let r = try? runTool(["squeue", "-h", "-r", "-o", "%i|%F|%K|%T|%M|%R"]), r.status == 0 else { return nil }
        return r.out.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 6 else { return nil }
            let arrayJob = f[1] == "N/A" || f[1] == "0" ? f[0] : f[1]
            guard mine.contains(arrayJob) || mine.contains(f[0]) else { return nil }
            return QueuedJob(jobID: f[0], arrayJob: arrayJob, task: Int(f[2]), state: f[3], elapsed: f[4], reason: f[5])
        }
    }

    /// Array tasks of this sweep still pending or running, by shard.
    func activeShards(_ queue: [QueuedJob]) -> [Int: QueuedJob] {
        let arrays = Set(submittedJobs().arrays)
        var active: [Int: QueuedJob] = [:]
        for j in queue where arrays.contains(j.arrayJob) {
            if let t = j.task, ["PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "RESIZING", "SUSPENDED"].contains(j.state) {
                active[t] = j
            }
        }
        return active
    }

    /// Appends one submission line.
    func recordSubmission(_ fields: [(String, JSONValue)]) throws {
        let url = layout.submissions
        let file = FileManager.default.fileExists(atPath: url.path) ? try String(contentsOf: url, encoding: .utf8) : ""
        try AtomicFile.write(file + JSONValue.object(fields).text + "\n", to: url)
    }
}

struct SlurmSubmit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Plan shards by estimated cost, write the batch scripts, sbatch the array and the report job.",
        discussion: """
            Task i of the array runs `locus run RECIPE --plan plan.json --shard i/N` with \
            --threads $SLURM_CPUS_PER_TASK, appending to its own results file; the array is \
            --requeue'd, and a requeued, killed or timed-out task resumes without losing or \
            repeating a run. The report job (--dependency=afterok on the array) merges the shards \
            (`locus slurm merge`) and runs `locus report` into runs/report/<name>. \
            --dry-run prints the plan and the scripts and submits nothing.
            """)

    @OptionGroup var target: SlurmTarget
    @Option(help: "Number of shards (array tasks).") var shards: Int
    @Option(help: "Slurm partition.") var partition: String?
    @Option(help: "Time limit per task (Slurm format, e.g. 4:00:00).") var time: String?
    @Option(help: "CPUs per task (the runs' BLAS threads).") var cpusPerTask: Int = 1
    @Option(help: "Memory per task (Slurm format, e.g. 4G).") var mem: String?
    @Option(help: "Slurm account.") var account: String?
    @Flag(help: "Print the plan (runs and estimated hours per shard) and the scripts; submit nothing.") var dryRun = false
    @Option(help: "A checkpoint (GGUF or HF folder) for the runs (default: the recipe's, else the default model).")
    var model: String?
    @Option(help: "Data folder passed to the runs (default: theirs, $LOCUS_DATA or ../shared/data).") var data: String?
    @Option(help: "The locus binary the jobs run (default: this one).") var locus: String?

    func validate() throws {
        guard shards >= 1 else { throw ValidationError("--shards must be at least 1") }
        guard cpusPerTask >= 1 else { throw ValidationError("--cpus-per-task must be at least 1") }
    }

    func run() throws {
        let modelPath = model.map(Workdir.absolute)
        let dataPath = data.map(Workdir.absolute)
        let locusPath = try locus.map(Workdir.absolute) ?? Self.currentExecutable()
        let (recipe, recipePath, layout) = try target.open()

        // Expansion draws random heads, so it needs the model's shape.
        var options = try ModelOptions.parse(modelPath.map { ["--model", $0] } ?? [])
        if options.model == nil && recipe.model != "default" { options.model = recipe.model }
        let config = try LanguageModel.load(from: options.resolvedURL()).config
        let runs: [RunSpec]
        do {
            runs = try RecipeExpansion.runs(recipe, shape: ModelShape(layerCount: config.layerCount, headCount: config.headCount))
        } catch let e as RecipeError { throw ValidationError("\(target.recipe): \(e)") }
        let plan = ShardPlan.balanced(runs, recipe: recipe.name, shards: shards)
        let settings = SlurmSettings(
            shards: shards, partition: partition, time: time, cpusPerTask: cpusPerTask, mem: mem, account: account)
        var runArguments: [String] = []
        if let modelPath { runArguments += ["--model", modelPath] }
        if let dataPath { runArguments += ["--data", dataPath] }
        let arrayScript = SlurmScripts.array(
            layout: layout, settings: settings, locus: locusPath, recipe: recipePath, runArguments: runArguments)
        let reportScript = SlurmScripts.report(layout: layout, settings: settings, locus: locusPath, recipe: recipePath)

        if dryRun {
            print(plan.text())
            print("\n# \(layout.arrayScript.path)\n" + arrayScript)
            print("# \(layout.reportScript.path)\n" + reportScript)
            return
        }
        // A second submission of the same sweep must not put two writers on one shard file.
        if FileManager.default.fileExists(atPath: layout.plan.path) {
            let old = try SlurmSweep(layout: layout)
            if old.plan != plan {
                throw ValidationError(
                    "\(layout.folder.path) holds a different plan (\(old.plan.shardCount) shards, \(old.plan.entries.count) runs): "
                        + "use `locus slurm resubmit`, or move that folder away to start over")
            }
            if let active = old.queued().map(old.activeShards), !active.isEmpty {
                throw ValidationError(
                    "shards \(active.keys.sorted().map(String.init).joined(separator: ", ")) of this sweep are still queued or running; "
                        + "see `locus slurm status`")
            }
        }
        try FileManager.default.createDirectory(at: layout.logs, withIntermediateDirectories: true)
        try plan.write(to: layout.plan)
        try AtomicFile.write(arrayScript, to: layout.arrayScript)
        try AtomicFile.write(reportScript, to: layout.reportScript)
        let arrayJob = try sbatch([layout.arrayScript.path])
        let reportJob = try sbatch(["--dependency=afterok:\(arrayJob)", "--kill-on-invalid-dep=yes", layout.reportScript.path])
        let sweep = try SlurmSweep(layout: layout)
        try sweep.recordSubmission([
            ("command", .string("submit")), ("time", .string(ProgressReporter.timestamp(Date()))),
            ("array_job", .string(arrayJob)), ("report_job", .string(reportJob)),
            ("shards", .array((0..<shards).map { .number(Double($0)) })),
        ])
        printError(plan.text(listRuns: false))
        printError("submitted array job \(arrayJob) (\(shards) tasks) and report job \(reportJob) (afterok); scripts in \(layout.folder.path)")
        printJSON(.object([
            ("command", .string("locus slurm submit")), ("recipe", .string(recipe.name)),
            ("array_job", .string(arrayJob)), ("report_job", .string(reportJob)), ("shards", .int(shards)),
            ("runs", .int(runs.count)), ("folder", .string(layout.folder.path)),
            ("estimated_hours", .array(plan.estimatedHours.map { .double($0) })),
        ]))
    }

    /// This process's executable, absolute (`/proc/self/exe` on Linux).
    static func currentExecutable() throws -> String { Workdir.executable.path }
}

struct SlurmStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Finished/total runs per shard (from the results files) and the jobs in squeue/sacct.")

    @OptionGroup var target: SlurmTarget

    func run() throws {
        let (recipe, _, layout) = try target.open()
        let sweep = try SlurmSweep(layout: layout)
        let states = try sweep.shardStates()
        let queue = sweep.queued()
        let active = queue.map(sweep.activeShards) ?? [:]
        printError("\(recipe.name): \(sweep.plan.entries.count) runs in \(sweep.plan.shardCount) shards (\(layout.folder.path))")
        printError("shard  finished/total  failed  est. hours  job")
        for s in states {
            let job = active[s.index].map { "\($0.jobID) \($0.state) \($0.elapsed)" } ?? (s.missing.isEmpty ? "done" : "not queued")
            printError(String(format: "%5d  %8d/%-5d  %6d  %10.2f  %@", s.index, s.finished, s.planned, s.failed, s.estimatedHours, job)
                + (s.duplicates > 0 ? "  (\(s.duplicates) duplicate records)" : ""))
        }
        let finished = states.reduce(0) { $0 + $1.finished }
        printError("total: \(finished)/\(sweep.plan.entries.count) runs finished")
        if queue == nil { printError("squeue: not available") }
        let (arrays, reports) = sweep.submittedJobs()
        var accounting: JSONValue = .null
        if !arrays.isEmpty || !reports.isEmpty {
            if let r = try? runTool(["sacct", "-n", "-P", "-X", "-j", (arrays + reports).joined(separator: ","), "-o", "JobID,State,Elapsed,ExitCode"]) {
                if r.status == 0 {
                    printError("sacct:\n" + r.out.trimmingCharacters(in: .whitespacesAndNewlines))
                    accounting = .string(r.out)
                } else {
                    printError("sacct: unavailable (\(r.err.split(separator: "\n").first ?? ""))")
                }
            }
        }
        for j in (queue ?? []) where j.task == nil {
            printError("report job \(j.jobID): \(j.state) \(j.reason)")
        }
        printJSON(.object([
            ("command", .string("locus slurm status")), ("recipe", .string(recipe.name)),
            ("runs", .int(sweep.plan.entries.count)), ("finished", .int(finished)),
            ("shards", .array(states.map { s in
                .object([
                    ("shard", .int(s.index)), ("planned", .int(s.planned)), ("finished", .int(s.finished)),
                    ("failed", .int(s.failed)), ("duplicates", .int(s.duplicates)),
                    ("job", active[s.index].map { .string($0.jobID) } ?? .null),
                    ("state", active[s.index].map { .string($0.state) } ?? .null),
                ])
            })),
            ("queue", queue.map { q in .array(q.map { .string("\($0.jobID) \($0.state)") }) } ?? .null),
            ("sacct", accounting),
        ]))
    }
}

struct SlurmResubmit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resubmit",
        abstract: "Resubmit the shards that miss runs (not those still queued or running), then a report job.",
        discussion: """
            Uses the scripts and plan of `locus slurm submit` (sbatch --array=LIST array.sbatch). \
            The new report job waits for the resubmitted tasks (afterok) and for tasks of earlier \
            submissions still in the queue (afterany); its merge fails, naming them, if any run \
            is still missing.
            """)

    @OptionGroup var target: SlurmTarget

    func run() throws {
        let (recipe, _, layout) = try target.open()
        let sweep = try SlurmSweep(layout: layout)
        let states = try sweep.shardStates()
        guard let queue = sweep.queued() else { throw ValidationError("squeue is not available: is Slurm running here?") }
        let active = sweep.activeShards(queue)
        let todo = states.filter { !$0.missing.isEmpty && active[$0.index] == nil }.map(\.index)
        let waiting = states.filter { !$0.missing.isEmpty && active[$0.index] != nil }.map(\.index)
        for s in waiting { printError("shard \(s): still \(active[s]!.state) as \(active[s]!.jobID); not resubmitted") }
        guard !todo.isEmpty else {
            printError(waiting.isEmpty
                ? "\(recipe.name): every run is finished; nothing to resubmit (report: sbatch \(layout.reportScript.path))"
                : "\(recipe.name): nothing to resubmit")
            printJSON(.object([("command", .string("locus slurm resubmit")), ("resubmitted", .array([]))]))
            return
        }
        let arrayJob = try sbatch(["--array=\(todo.map(String.init).joined(separator: ","))", layout.arrayScript.path])
        var dependency = "afterok:\(arrayJob)"
        for s in waiting { dependency += ",afterany:\(active[s]!.jobID)" }
        let reportJob = try sbatch(["--dependency=\(dependency)", "--kill-on-invalid-dep=yes", layout.reportScript.path])
        try sweep.recordSubmission([
            ("command", .string("resubmit")), ("time", .string(ProgressReporter.timestamp(Date()))),
            ("array_job", .string(arrayJob)), ("report_job", .string(reportJob)),
            ("shards", .array(todo.map { .number(Double($0)) })),
        ])
        let missing = states.filter { todo.contains($0.index) }.reduce(0) { $0 + $1.missing.count }
        printError("resubmitted shards \(todo.map(String.init).joined(separator: ", ")) (\(missing) runs missing) as array job \(arrayJob); report job \(reportJob)")
        printJSON(.object([
            ("command", .string("locus slurm resubmit")), ("recipe", .string(recipe.name)),
            ("resubmitted", .array(todo.map { .int($0) })), ("array_job", .string(arrayJob)),
            ("report_job", .string(reportJob)), ("missing_runs", .int(missing)),
        ]))
    }
}

struct SlurmMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the shard results into merged.jsonl (recipe order); fails if a run is missing.",
        discussion: """
            Takes, for every run of the plan, its finished record from its shard's file (one \
            record per run, whatever earlier attempts left), and writes them atomically to \
            runs/slurm/<name>/merged.jsonl, the input of `locus report`.
            """)

    @OptionGroup var target: SlurmTarget

    func run() throws {
        let (recipe, _, layout) = try target.open()
        let sweep = try SlurmSweep(layout: layout)
        var byID: [String: RunRecord] = [:]
        var duplicates = 0
        for s in 0..<sweep.plan.shardCount {
            for r in try sweep.records(s) where r.isOK {
                if byID[r.runID] == nil { byID[r.runID] = r } else { duplicates += 1 }
            }
        }
        let missing = sweep.plan.entries.filter { byID[$0.runID] == nil }
        guard missing.isEmpty else {
            let shards = Set(missing.map(\.shard)).sorted().map(String.init).joined(separator: ", ")
            throw ValidationError(
                "\(missing.count) of \(sweep.plan.entries.count) runs have no finished record (shards \(shards)); "
                    + "`locus slurm resubmit \(target.recipe)` runs them")
        }
        let lines = sweep.plan.entries.map { byID[$0.runID]!.json.text }
        try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: layout.merged)
        printError("\(recipe.name): merged \(lines.count) runs from \(sweep.plan.shardCount) shard files into \(layout.merged.path)"
            + (duplicates > 0 ? " (\(duplicates) duplicate records ignored)" : ""))
        printJSON(.object([
            ("command", .string("locus slurm merge")), ("recipe", .string(recipe.name)),
            ("runs", .int(lines.count)), ("duplicates", .int(duplicates)), ("merged", .string(layout.merged.path)),
        ]))
    }
}
