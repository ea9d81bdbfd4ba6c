import Foundation
import LocusCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs one `RunSpec` and returns its metrics (e.g. `mc2`, `truth_bleu_acc`, `kl`). Methods
/// implement this in the CLI layer, which has the model.
public protocol RunExecutor {
    func execute(_ run: RunSpec) throws -> [String: JSONValue]
}

/// An executor from a closure.
public struct ClosureExecutor: RunExecutor {
    let body: (RunSpec) throws -> [String: JSONValue]
    public init(_ body: @escaping (RunSpec) throws -> [String: JSONValue]) { self.body = body }
    public func execute(_ run: RunSpec) throws -> [String: JSONValue] { try body(run) }
}

/// Executors by method kind: a method plugs in with one `register` line.
public struct ExecutorRegistry: RunExecutor {
    private var executors: [String: any RunExecutor] = [:]
    public init() {}

    public mutating func register(_ kind: String, _ executor: any RunExecutor) { executors[kind] = executor }
    public var kinds: [String] { executors.keys.sorted() }
    public func supports(_ kind: String) -> Bool { executors[kind] != nil }

    public func execute(_ run: RunSpec) throws -> [String: JSONValue] {
        guard let e = executors[run.method] else {
            throw RecipeError(
                path: "method", "no executor for method '\(run.method)' (have: \(kinds.joined(separator: ", ")))")
        }
        return try e.execute(run)
    }
}

/// What a sweep did.
public struct SweepSummary: Sendable, Equatable {
    /// Runs of the recipe in this shard.
    public var total: Int
    /// Already finished before this start (skipped).
    public var alreadyDone: Int
    /// Finished now.
    public var completed: Int
    /// Failed now (an error record was written).
    public var failed: Int
    /// Of `completed`, copied from identical runs of other results files (`reusable`).
    public var reused: Int = 0
    public var seconds: Double
}

/// Executes the runs of a shard that the results file does not hold yet, appending one record
/// per run. Failure policy: a failing run writes an `"error"` record and the sweep goes on;
/// the next start retries it (error records never count as done) unless `retryFailed` is false.
public final class SweepRunner {
    public let runs: [RunSpec]
    public let shard: Shard
    public let results: ResultsFile
    public let executor: any RunExecutor
    public var retryFailed: Bool
    /// Called before each run and after it (for progress bars).
    public var progress: SweepProgress?
    /// Stop after this many runs (0 = no limit).
    public var limit: Int = 0
    /// Finished records of other sweeps by run ID: a pending run with the same ID (the same
    /// computation, e.g. figure 2's runs inside figure 1's) is copied instead of executed. A
    /// record whose spec differs only by computing more metric groups (figure 3's MC + CE/KL
    /// runs inside figure 2's MC + generation + CE/KL runs) is copied too, with all its metrics.
    public var reusable: [String: RunRecord] = [:]

    /// The reusable record for a run: same ID, else same computation with a superset of its
    /// metric groups (ties: the lowest run ID, so the choice does not depend on file order).
    public func reusableRecord(for run: RunSpec) -> RunRecord? {
        reusableRecord(for: run, index: reusableIndex())
    }

    /// Reusable ok records by `computationText`.
    public func reusableIndex() -> [String: [RunRecord]] {
        Dictionary(grouping: reusable.values.filter(\.isOK), by: \.spec.computationText)
    }

    public func reusableRecord(for run: RunSpec, index: [String: [RunRecord]]) -> RunRecord? {
        if let r = reusable[run.runID], r.isOK { return r }
        let wanted = Set(run.metrics)
        return index[run.computationText]?
            .filter { wanted.isSubset(of: Set($0.spec.metrics)) }
            .min { $0.runID < $1.runID }
    }

    public init(
        runs: [RunSpec], results: ResultsFile, shard: Shard = .whole, executor: any RunExecutor,
        retryFailed: Bool = true
    ) {
        self.runs = runs
        self.results = results
        self.shard = shard
        self.executor = executor
        self.retryFailed = retryFailed
    }

    /// A cost-balanced assignment of runs to shards (`ShardPlan`); nil: by run-ID hash.
    public var plan: ShardPlan?

    /// Runs of this shard (by `plan` if set, else by run-ID hash), in recipe order.
    public var shardRuns: [RunSpec] {
        if let plan { return runs.filter { plan.shard(of: $0.runID) == shard.index } }
        return runs.filter { shard.contains($0.runID) }
    }

    /// IDs counting as done: ok records, and error records too when not retrying.
    public var doneIDs: Set<String> {
        Set(results.records.filter { $0.isOK || !retryFailed }.map(\.runID))
    }

    /// Runs of this shard not yet done, in recipe order.
    public var pending: [RunSpec] {
        let done = doneIDs
        return shardRuns.filter { !done.contains($0.runID) }
    }

    @discardableResult
    public func run() throws -> SweepSummary {
        let mine = shardRuns
        let index = reusableIndex()
        var todo = pending
        if limit > 0 { todo = Array(todo.prefix(limit)) }
        var summary = SweepSummary(
            total: mine.count, alreadyDone: mine.count - pending.count, completed: 0, failed: 0, seconds: 0)
        let start = Date()
        let formatter = ISO8601DateFormatter()
        progress?.begin(total: mine.count, done: summary.alreadyDone, pending: todo.count)
        for run in todo {
            progress?.starting(run, done: summary.alreadyDone + summary.completed + summary.failed)
            let t0 = Date()
            let record: RunRecord
            if let earlier = reusableRecord(for: run, index: index) {
                record = RunRecord(
                    spec: run, status: "ok", metrics: earlier.metrics, seconds: earlier.seconds,
                    finished: earlier.finished, shard: shard.description, reusedFrom: earlier.spec.recipe)
                summary.completed += 1
                summary.reused += 1
            } else { do {
                let metrics = try executor.execute(run)
                record = RunRecord(
                    spec: run, status: "ok", metrics: JSONValue(metrics), seconds: Date().timeIntervalSince(t0),
                    finished: formatter.string(from: Date()), shard: shard.description)
                summary.completed += 1
            } catch {
                record = RunRecord(
                    spec: run, status: "error", error: "\(error)", seconds: Date().timeIntervalSince(t0),
                    finished: formatter.string(from: Date()), shard: shard.description)
                summary.failed += 1
            } }
            try results.append(record)
            progress?.finished(record, done: summary.alreadyDone + summary.completed + summary.failed)
        }
        summary.seconds = Date().timeIntervalSince(start)
        progress?.end(summary)
        return summary
    }
}

/// Progress callbacks of a sweep.
public protocol SweepProgress: AnyObject {
    func begin(total: Int, done: Int, pending: Int)
    func starting(_ run: RunSpec, done: Int)
    func finished(_ record: RunRecord, done: Int)
    func end(_ summary: SweepSummary)
}

/// A progress bar on standard error: runs done/total, the current run, elapsed time and ETA
/// (mean seconds per run finished in this session × runs left), redrawn in place on a terminal,
/// else printed as a plain line at most every `interval` seconds (`ProgressStyle`).
public final class ProgressBar: SweepProgress {
    private var total = 0
    private var startDone = 0
    private var started = Date()
    private var current = ""
    private var done = 0
    private var sessionSeconds = 0.0
    private var sessionRuns = 0
    private let width = 24
    private let style: ProgressStyle
    private var lastPlain: Date? = nil
    private let output: (String) -> Void

    public init(
        style: ProgressStyle = .standardError,
        output: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }
    ) {
        self.style = style
        self.output = output
    }

    public func begin(total: Int, done: Int, pending: Int) {
        self.total = total
        startDone = done
        self.done = done
        started = Date()
        output("sweep: \(total) runs in this shard, \(done) already done, \(pending) to run\n")
    }

    public func starting(_ run: RunSpec, done: Int) {
        self.done = done
        current = "\(run.runID.prefix(8)) \(run.label)"
        draw()
    }

    public func finished(_ record: RunRecord, done: Int) {
        self.done = done
        sessionRuns += 1
        sessionSeconds += record.seconds
        if !record.isOK {
            output((style == .interactive ? "\r" : "") + "run \(record.runID) failed: \(record.error ?? "?")\n")
        }
        draw()
    }

    public func end(_ summary: SweepSummary) {
        output(
            (style == .interactive ? "\n" : "") + "sweep: \(summary.completed) completed, \(summary.failed) failed, "
                + "\(summary.alreadyDone) skipped (already done) in \(Self.clock(summary.seconds))\n")
    }

    public static func line(
        done: Int, total: Int, width: Int, current: String, elapsed: Double, eta: Double?
    ) -> String {
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let filled = min(width, Int((fraction * Double(width)).rounded(.down)))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        return "[\(bar)] \(done)/\(total) runs  elapsed \(clock(elapsed))  ETA \(eta.map(clock) ?? "--:--")  \(current)"
    }

    private func draw() {
        let left = total - done
        let eta = sessionRuns > 0 ? sessionSeconds / Double(sessionRuns) * Double(left) : nil
        var text = Self.line(
            done: done, total: total, width: width, current: current,
            elapsed: Date().timeIntervalSince(started), eta: eta)
        if text.count > 160 { text = String(text.prefix(157)) + "..." }
        switch style {
        case .interactive:
            output("\r" + text + "\u{1B}[K")
        case .plain(let interval):
            let now = Date()
            if let last = lastPlain, now.timeIntervalSince(last) < interval { return }
            lastPlain = now
            output(Self.timestamp(now) + " " + text + "\n")
        }
    }

    /// `2026-11-30T12:00:00Z` (`ProgressReporter.timestamp`).
    public static func timestamp(_ date: Date) -> String { ProgressReporter.timestamp(date) }

    /// `m:ss` / `h:mm:ss` (`ProgressReporter.clock`).
    public static func clock(_ seconds: Double) -> String { ProgressReporter.clock(seconds) }
}
