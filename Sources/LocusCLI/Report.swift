import LocusCore
import ArgumentParser
import Foundation
import LocusExperiments
import LocusRecipes

/// `locus report RESULTS...`: merges results files and draws the sweep's figures and tables.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reduce sweep results (any number of shard files) to figures, tables and an HTML page.",
        discussion: """
            Merges the records by run ID (shards, reruns), then per recipe: the best value over the \
            grid for every head set (True×Info, or MC2 when the recipe scores MC only), the empirical p-value of each reference set (top-K, all \
            heads) against each random head-set family, p = (1 + #{random ≥ reference}) / (1 + N), \
            seeded bootstrap confidence intervals, and SVG figures (histograms with the reference \
            lines, truth-vs-info trade-offs, KL-vs-MC2 curves). Writes OUT/report.md, \
            OUT/report.html (self-contained), OUT/summary.json and OUT/figures/*.svg.
            """)

    @Argument(help: "Results files (JSON lines from `locus run`).") var results: [String]
    @Option(help: "Output folder.") var out: String = "runs/report"
    @Option(help: "Seed of the bootstrap.") var seed: UInt64 = 0
    @Option(help: "Bootstrap resamples.") var resamples: Int = 2000

    func validate() throws {
        guard !results.isEmpty else { throw ValidationError("give at least one results file") }
        guard resamples >= 1 else { throw ValidationError("--resamples must be at least 1") }
    }

    func run() throws {
        var records: [RunRecord] = []
        var skippedTotal = 0
        for path in results {
            let url = URL(fileURLWithPath: path)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw RunFailure("\(path): results file not found")
            }
            let read = try ResultsFile.read(url)
            if !read.skipped.isEmpty {
                skippedTotal += read.skipped.count
                let shown = read.skipped.prefix(20).map(String.init).joined(separator: ", ")
                printError(
                    "warning: \(path): skipped \(read.skipped.count) line(s) that are not run records "
                        + "(line \(shown)\(read.skipped.count > 20 ? ", …" : ""))")
            }
            records += read.records
        }
        guard !records.isEmpty else {
            throw RunFailure(
                "no run records in \(results.joined(separator: ", "))"
                    + (skippedTotal > 0 ? " (\(skippedTotal) unreadable line(s) skipped)" : "") + "; nothing to report")
        }
        let report = SweepReport(records: records, seed: seed, resamples: resamples)
        let writer = ReportWriter(report: report, providers: [LocalizationReport()])
        let written = try writer.write(to: URL(fileURLWithPath: out))
        for a in report.recipes {
            for t in a.tests {
                for r in t.references {
                    printError(
                        "\(a.name): \(r.label) best \(MetricNames.short(t.criterion)) \(ReportWriter.fmt(r.value)) vs \(t.label): "
                            + "mean \(ReportWriter.fmt(Statistics.mean(t.values))), \(r.beatenBy) at least as good, p = \(ReportWriter.fmt(r.pValue))")
                }
            }
        }
        // Runs copied from another sweep (--reuse) keep their original seconds: count them once.
        let computed = report.records.filter { $0.reusedFrom == nil }
        let compute = computed.reduce(0) { $0 + $1.seconds }
        printError(
            "\(report.records.count) runs (\(report.failures.count) failed, \(report.records.count - computed.count) copied from other sweeps), "
                + "\(ProgressReporter.clock(compute)) of compute; wrote \(written.count) files to \(out)")
        printJSON(.object([
            ("command", .string("locus report")), ("runs", .int(report.records.count)),
            ("failed", .int(report.failures.count)), ("out", .string(out)),
            ("files", .array(written.map { .string($0.path) })),
        ]))
    }
}
