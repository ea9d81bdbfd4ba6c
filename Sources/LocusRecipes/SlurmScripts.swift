import Foundation
import LocusCore

/// Where `locus slurm` keeps a recipe's cluster sweep: everything under one folder beside the
/// other results, `WORKDIR/runs/slurm/<recipe name>/`, so it can be read, re-run by hand with
/// `sbatch`, or copied:
///
///     plan.json               which shard runs which run (ShardPlan), with estimated seconds
///     array.sbatch            the array job: task i runs `locus run --plan plan.json --shard i/N`
///     report.sbatch           the report job: `locus slurm merge`, then `locus report`
///     shard-i-of-N.jsonl      one results file per shard (one writer each; no lock needed)
///     merged.jsonl            all shards' records in recipe order (the report's input)
///     logs/shard-i.log        each task's output, appended across attempts (requeue, resubmit)
///     submissions.jsonl       one line per `submit`/`resubmit`: job IDs and shards
public struct SlurmLayout: Sendable {
    public let workdir: URL
    public let recipeName: String
    public let folder: URL

    public init(workdir: URL, recipeName: String) {
        self.workdir = workdir
        self.recipeName = recipeName
        folder = workdir.appendingPathComponent("runs/slurm/\(recipeName)")
    }

    /// Paths as written into the scripts: relative to the work directory the scripts `cd` into.
    public var relativeFolder: String { "runs/slurm/\(recipeName)" }
    public var plan: URL { folder.appendingPathComponent("plan.json") }
    public var arrayScript: URL { folder.appendingPathComponent("array.sbatch") }
    public var reportScript: URL { folder.appendingPathComponent("report.sbatch") }
    public var merged: URL { folder.appendingPathComponent("merged.jsonl") }
    public var submissions: URL { folder.appendingPathComponent("submissions.jsonl") }
    public var logs: URL { folder.appendingPathComponent("logs") }
    public var reportFolder: String { "runs/report/\(recipeName)" }
    public func shardResultsName(_ i: Int, of n: Int) -> String { "shard-\(i)-of-\(n).jsonl" }
    public func shardResults(_ i: Int, of n: Int) -> URL { folder.appendingPathComponent(shardResultsName(i, of: n)) }
}

/// `sbatch` options of a submission.
public struct SlurmSettings: Sendable, Equatable {
    public var shards: Int
    public var partition: String?
    public var time: String?
    public var cpusPerTask: Int = 1
    public var mem: String?
    public var account: String?

    public init(
        shards: Int, partition: String? = nil, time: String? = nil, cpusPerTask: Int = 1, mem: String? = nil,
        account: String? = nil
    ) {
        self.shards = shards
        self.partition = partition
        self.time = time
        self.cpusPerTask = cpusPerTask
        self.mem = mem
        self.account = account
    }
}

/// The two batch scripts, written to be read: every path spelled out, one command per step.
public enum SlurmScripts {
    /// Single-quotes a word for bash.
    public static func quote(_ s: String) -> String {
        if !s.isEmpty, s.allSatisfy({ $0.isLetter || $0.isNumber || "/._-+=:,@%".contains($0) }) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    static func header(
        _ layout: SlurmLayout, _ s: SlurmSettings, jobName: String, output: String, extra: [String]
    ) -> [String] {
        var lines = ["#!/bin/bash", "#SBATCH --job-name=\(jobName)"]
        lines += extra.map { "#SBATCH \($0)" }
        // #SBATCH lines are not shell words: paths go in as they are (`locus slurm submit`
        // refuses a work directory with white space).
        lines.append("#SBATCH --output=\(layout.logs.path)/\(output)")
        lines.append("#SBATCH --open-mode=append")
        lines.append("#SBATCH --chdir=\(layout.workdir.path)")
        if let p = s.partition { lines.append("#SBATCH --partition=\(p)") }
        if let a = s.account { lines.append("#SBATCH --account=\(a)") }
        if let t = s.time { lines.append("#SBATCH --time=\(t)") }
        if let m = s.mem { lines.append("#SBATCH --mem=\(m)") }
        return lines
    }

    /// The array job. Each task runs its shard of the plan; `locus run` skips the runs its
    /// results file already holds, so a requeued, preempted, timed-out or resubmitted task
    /// continues where the last one stopped (each record is one O_APPEND write + fsync; a torn
    /// last line is cut on start), and no run is done twice.
    public static func array(
        layout: SlurmLayout, settings s: SlurmSettings, locus: String, recipe: String, runArguments: [String]
    ) -> String {
        let n = s.shards
        var lines = header(
            layout, s, jobName: "locus-\(layout.recipeName)", output: "shard-%a.log",
            extra: ["--array=0-\(n - 1)", "--cpus-per-task=\(s.cpusPerTask)", "--ntasks=1", "--requeue"])
        lines += [
            "#",
            "# Written by `locus slurm submit`. Task i of the array runs shard i of \(n) of the plan",
            "# (\(layout.relativeFolder)/plan.json: runs balanced by estimated cost) and appends one",
            "# record per finished run to its own results file. Killed, preempted or timed-out tasks",
            "# resume without losing or repeating a run: `locus slurm resubmit` (or",
            "# `sbatch --array=LIST` on this file) starts the shards that still miss runs.",
            "set -euo pipefail",
            "shard=\"$SLURM_ARRAY_TASK_ID\"",
            "echo \"$(date -u +%FT%TZ) shard $shard/\(n) on $(hostname), job ${SLURM_JOB_ID:-?}, restart ${SLURM_RESTART_COUNT:-0}\"",
            ([quote(locus), "run", quote(recipe), "--workdir", quote(layout.workdir.path),
              "--plan", "\(layout.relativeFolder)/plan.json", "--shard", "\"$shard/\(n)\"",
              "--results", "\"\(layout.relativeFolder)/shard-$shard-of-\(n).jsonl\"",
              "--threads", "\"${SLURM_CPUS_PER_TASK:-1}\""] + runArguments.map(quote)).joined(separator: " "),
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// The report job (submitted with `--dependency=afterok:` on the array): merges the shard
    /// files into one results file (failing, with the missing runs named, if any run is not
    /// finished) and draws the report.
    public static func report(layout: SlurmLayout, settings s: SlurmSettings, locus: String, recipe: String) -> String {
        var lines = header(
            layout, s, jobName: "locus-\(layout.recipeName)-report", output: "report-%j.log",
            extra: ["--cpus-per-task=1", "--ntasks=1"])
        lines += [
            "#",
            "# Written by `locus slurm submit`: runs after every array task succeeded.",
            "set -euo pipefail",
            [quote(locus), "slurm", "merge", quote(recipe), "--workdir", quote(layout.workdir.path)].joined(separator: " "),
            [quote(locus), "report", "\(layout.relativeFolder)/merged.jsonl", "--out", layout.reportFolder]
                .joined(separator: " "),
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
