import Foundation
@testable import LocusRecipes
import XCTest

/// Cost-balanced shard plans, the sweep runner following a plan, batch-friendly progress, the
/// thread default and the Slurm batch scripts (issue 14). The real-cluster tests are in
/// Tests/LocusSlurmTests.
final class ShardPlanTests: XCTestCase {
    func testPlanIsDeterministicCompleteAndBalancedByCost() throws {
        let runs = try sampleRuns()
        let a = ShardPlan.balanced(runs, recipe: "tiny", shards: 3)
        let b = ShardPlan.balanced(runs.reversed(), recipe: "tiny", shards: 3)
        XCTAssertEqual(a.entries.count, runs.count)
        // Same assignment whatever the input order.
        for r in runs { XCTAssertEqual(a.shard(of: r.runID), b.shard(of: r.runID), r.label) }
        XCTAssertEqual(a, ShardPlan.balanced(runs, recipe: "tiny", shards: 3))
        // LPT bound: the longest shard is at most the mean plus the largest single unit.
        let hours = a.estimatedHours
        let largest = a.entries.map(\.seconds).max()! / 3600
        XCTAssertLessThanOrEqual(hours.max()!, hours.reduce(0, +) / 3 + largest + 1e-9)
        // IPO costs several times ITI at the same data (training on top of evaluation).
        let costs = RunCostModel.measured
        let iti = runs.first { $0.method == "iti" && $0.number("alpha") != 0 }!
        let ipo = runs.first { $0.method == "ipo" }!
        XCTAssertGreaterThan(costs.seconds(ipo), 3 * costs.seconds(iti))
    }

    func testPlanBeatsTheHashSplitOnMixedCosts() throws {
        let runs = try sampleRuns()
        let plan = ShardPlan.balanced(runs, recipe: "tiny", shards: 4)
        var hash = [Double](repeating: 0, count: 4)
        for r in runs {
            let s = (0..<4).first { Shard(index: $0, count: 4).contains(r.runID) }!
            hash[s] += plan.entries.first { $0.runID == r.runID }!.seconds
        }
        // Both measured the same way (α = 0 copies at overhead only).
        XCTAssertLessThanOrEqual(plan.estimatedHours.max()! * 3600, hash.max()! + 1e-6)
    }

    func testUneditedITIRunsShareAShard() throws {
        let runs = try sampleRuns()
        let plan = ShardPlan.balanced(runs, recipe: "tiny", shards: 5)
        let zero = runs.filter { $0.method == "iti" && $0.number("alpha") == 0 }
        XCTAssertGreaterThan(zero.count, 1)
        XCTAssertEqual(Set(zero.map { plan.shard(of: $0.runID)! }).count, 1)
        // Only the first of them is costed as a computation.
        let seconds = zero.map { e in plan.entries.first { $0.runID == e.runID }!.seconds }
        XCTAssertGreaterThan(seconds[0], seconds[1])
    }

    func testPlanRoundTripsThroughJSONAndRejectsBadFiles() throws {
        let plan = ShardPlan.balanced(try sampleRuns(), recipe: "tiny", shards: 3)
        let dir = try temporaryDirectory()
        let url = dir.appendingPathComponent("plan.json")
        try plan.write(to: url)
        let back = try ShardPlan.load(url)
        XCTAssertEqual(back.entries.map(\.runID), plan.entries.map(\.runID))
        XCTAssertEqual(back.entries.map(\.shard), plan.entries.map(\.shard))
        try #"{"format": "locus.shard-plan/1", "recipe": "x", "shards": 2, "runs": [{"runID": "ab", "shard": 2}]}"#
            .write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ShardPlan.load(url)) { e in
            XCTAssertTrue("\(e)".contains("runs[0]") && "\(e)".contains("plan.json"), "\(e)")
        }
    }

    func testRunnerFollowsThePlan() throws {
        let runs = try sampleRuns()
        let plan = ShardPlan.balanced(runs, recipe: "tiny", shards: 3)
        let dir = try temporaryDirectory()
        var seen: [String] = []
        for s in 0..<3 {
            let file = try ResultsFile(url: dir.appendingPathComponent("s\(s).jsonl"))
            let runner = SweepRunner(runs: runs, results: file, shard: Shard(index: s, count: 3), executor: fakeExecutor)
            runner.plan = plan
            XCTAssertEqual(runner.shardRuns.map(\.runID), plan.entries(inShard: s).map(\.runID))
            try runner.run()
            seen += try ResultsFile.read(file.url).records.map(\.runID)
        }
        XCTAssertEqual(seen.sorted(), runs.map(\.runID).sorted())
    }

    func testPlainProgressHasNoControlCharactersAndIsThrottled() throws {
        let runs = try sampleRuns()
        var out = ""
        let bar = ProgressBar(style: .plain(interval: 3600)) { out += $0 }
        bar.begin(total: runs.count, done: 0, pending: runs.count)
        for (i, r) in runs.enumerated() {
            bar.starting(r, done: i)
            bar.finished(
                RunRecord(spec: r, status: i == 2 ? "error" : "ok", error: i == 2 ? "boom" : nil, seconds: 1,
                          finished: "", shard: "0/1"), done: i + 1)
        }
        bar.end(SweepSummary(total: runs.count, alreadyDone: 0, completed: runs.count - 1, failed: 1, seconds: 3))
        XCTAssertFalse(out.contains("\r") || out.contains("\u{1B}"), out)
        let lines = out.split(separator: "\n")
        // begin, one progress line (then throttled), the failure, the summary.
        XCTAssertEqual(lines.count, 4, out)
        XCTAssertTrue(lines[2].contains("failed: boom"))
        var fast = ""
        let every = ProgressBar(style: .plain(interval: 0)) { fast += $0 }
        every.begin(total: 2, done: 0, pending: 2)
        every.starting(runs[0], done: 0)
        every.starting(runs[1], done: 1)
        XCTAssertEqual(fast.split(separator: "\n").count, 3)
        XCTAssertTrue(fast.split(separator: "\n")[1].contains("0/2 runs"))
    }

    func testThreadDefaultFollowsSlurmThenAffinity() throws {
        XCTAssertEqual(BatchEnvironment.defaultThreads(environment: ["SLURM_CPUS_PER_TASK": "3"]), 3)
        XCTAssertEqual(BatchEnvironment.defaultThreads(environment: ["SLURM_CPUS_PER_TASK": "x"]),
                       BatchEnvironment.defaultThreads(environment: [:]))
        #if os(Linux)
            // The twin: the kernel's own list of allowed CPUs.
            let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
            let list = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }!
                .split(separator: ":")[1].trimmingCharacters(in: .whitespaces)
            var count = 0
            for part in list.split(separator: ",") {
                let ends = part.split(separator: "-").compactMap { Int($0) }
                count += ends.count == 2 ? ends[1] - ends[0] + 1 : 1
            }
            XCTAssertEqual(BatchEnvironment.affinityCPUCount(), count)
            XCTAssertEqual(BatchEnvironment.defaultThreads(environment: [:]), count)
        #endif
    }

    func testBatchScriptsSayWhatTheyRun() {
        let layout = SlurmLayout(workdir: URL(fileURLWithPath: "/scratch/me"), recipeName: "wv-fig5-quick")
        let settings = SlurmSettings(shards: 3, partition: "cpu", time: "2:00:00", cpusPerTask: 2, mem: "4G", account: "lab")
        let array = SlurmScripts.array(
            layout: layout, settings: settings, locus: "/opt/locus/bin/locus", recipe: "/scratch/me/Recipes/wv fig.json",
            runArguments: ["--data", "/data"])
        for line in [
            "#SBATCH --array=0-2", "#SBATCH --requeue", "#SBATCH --cpus-per-task=2", "#SBATCH --partition=cpu",
            "#SBATCH --time=2:00:00", "#SBATCH --mem=4G", "#SBATCH --account=lab", "#SBATCH --chdir=/scratch/me",
            "#SBATCH --output=/scratch/me/runs/slurm/wv-fig5-quick/logs/shard-%a.log",
        ] {
            XCTAssertTrue(array.contains(line + "\n"), "missing \(line) in\n\(array)")
        }
        XCTAssertTrue(array.contains(
            "/opt/locus/bin/locus run '/scratch/me/Recipes/wv fig.json' --workdir /scratch/me --plan runs/slurm/wv-fig5-quick/plan.json "
                + "--shard \"$shard/3\" --results \"runs/slurm/wv-fig5-quick/shard-$shard-of-3.jsonl\" "
                + "--threads \"${SLURM_CPUS_PER_TASK:-1}\" --data /data"), array)
        let report = SlurmScripts.report(layout: layout, settings: settings, locus: "/opt/locus/bin/locus", recipe: "/r.json")
        XCTAssertTrue(report.contains("/opt/locus/bin/locus slurm merge /r.json --workdir /scratch/me\n"), report)
        XCTAssertTrue(report.contains("locus report runs/slurm/wv-fig5-quick/merged.jsonl --out runs/report/wv-fig5-quick"), report)
        XCTAssertFalse(report.contains("--array"))
        XCTAssertEqual(SlurmScripts.quote("it's"), #"'it'\''s'"#)
    }
}
