import Foundation
import LocusCore
import LocusFigures

/// A figure of a report: its file name, caption and SVG.
public struct ReportFigure: Sendable {
    public var file: String
    public var caption: String
    public var svg: String

    public init(file: String, caption: String, svg: String) {
        self.file = file
        self.caption = caption
        self.svg = svg
    }
}

/// Part of a recipe's report that a method outside this module contributes (the Hase
/// regression, the interchange agreement table), computed from its runs' records.
public struct ReportSection: Sendable {
    public var title: String
    /// Markdown and HTML bodies (tables, notes) under the title.
    public var markdown: String
    public var html: String
    /// Figure file names must start with the recipe's slug and a dash (`ReportWriter.slug`).
    public var figures: [ReportFigure]
    /// Machine-readable numbers, written into summary.json.
    public var summary: JSONValue

    public init(title: String, markdown: String, html: String, figures: [ReportFigure], summary: JSONValue) {
        self.title = title
        self.markdown = markdown
        self.html = html
        self.figures = figures
        self.summary = summary
    }

    /// A section of one table followed by a note, and one figure: the table and the note in
    /// markdown and in HTML (the note escaped, as `<p class="note">`).
    public init(
        title: String, header: [String], rows: [[String]], note: String, figure: ReportFigure,
        summary: JSONValue
    ) {
        self.init(
            title: title,
            markdown: ReportWriter.markdownTable(header, rows) + "\n" + note + "\n",
            html: ReportWriter.htmlTable(header, rows) + "<p class=\"note\">\(ReportWriter.escape(note))</p>\n",
            figures: [figure], summary: summary)
    }
}

/// Reports the runs of some methods (`locus report` wires the providers LocusExperiments has).
public protocol ReportSectionProvider: Sendable {
    /// The methods whose runs this provider reports; they are left out of the head-set tables.
    var methods: Set<String> { get }
    /// Sections for one recipe's records (empty when it has no runs of `methods`).
    func sections(for analysis: RecipeAnalysis) -> [ReportSection]
}

/// Draws a report's figures and writes `report.md`, `report.html` (self-contained: inline SVG),
/// `summary.json` and `figures/*.svg` into a folder.
public struct ReportWriter {
    public var report: SweepReport
    /// Sections of methods reported elsewhere (Hase, interchange).
    public var providers: [any ReportSectionProvider]
    public init(report: SweepReport, providers: [any ReportSectionProvider] = []) {
        self.report = report
        self.providers = providers
    }

    /// The providers' sections for `a`.
    public func sections(for a: RecipeAnalysis) -> [ReportSection] {
        providers.flatMap { $0.sections(for: a) }
    }

    /// Whether `a` has runs the head-set tables describe (not only component or provider runs).
    func hasHeadSetRuns(_ a: RecipeAnalysis) -> Bool {
        let elsewhere = Set(providers.flatMap(\.methods))
        return a.series.contains { ComponentStudy.metricOf[$0.method] == nil && !elsewhere.contains($0.method) }
    }

    // MARK: figures

    public func figures() -> [ReportFigure] {
        report.recipes.flatMap(figures(for:))
    }

    public func figures(for a: RecipeAnalysis) -> [ReportFigure] {
        var out: [ReportFigure] = []
        let base = Self.slug(a.name)
        // A recipe's figures are those its metric groups ask for: runs copied from a sweep that
        // computed more (`locus run --reuse`) carry extra metrics, which stay in the tables only.
        let asked = Set(a.series.flatMap { $0.points.flatMap(\.spec.metrics) })
        let generation = asked.isEmpty || asked.contains("generation")
        let sideEffects = asked.isEmpty || (asked.contains("mc") && asked.contains("sideEffects"))
        // A test's histogram needs the metric group of its criterion (MC2 tests come from MC-only sweeps).
        for t in a.tests where t.criterion == MetricNames.mc2 ? asked.isEmpty || asked.contains("mc") : generation {
            let refs = t.references.map { Histogram.Reference(value: $0.value, label: $0.label) }
            var notes = t.references.map {
                "\($0.label): p = \(Self.fmt($0.pValue)) = (1 + \($0.beatenBy)) / (1 + \(t.values.count))"
            }
            if let ci = t.meanInterval {
                notes.append(
                    "random mean \(Self.fmt(Statistics.mean(t.values))), 95% bootstrap CI [\(Self.fmt(ci.lowerBound)), \(Self.fmt(ci.upperBound))]")
            }
            let metric = MetricNames.short(t.criterion).replacingOccurrences(of: "*", with: "")
            let h = Histogram(
                values: t.values, title: "\(a.name): best \(metric) over the grid, \(t.label)",
                xLabel: "best " + MetricNames.label(t.criterion), references: refs,
                annotations: notes)
            out.append(ReportFigure(
                file: "\(base)-\(Self.slug(t.family))-histogram.svg",
                caption: "Histogram of the best \(metric) over the grid for \(t.label), with the reference sets as dashed lines and their empirical p-values.",
                svg: h.svg()))
        }
        let names = MetricNames.generation(judged: Self.judged(a))
        let tradeoff = generation ? plot(
            a, x: names.info, y: names.truth, title: "\(a.name): truth vs info along the grid") : nil
        if let tradeoff {
            out.append(ReportFigure(
                file: "\(base)-truth-info.svg",
                caption: "Truth vs informativeness, one point per hyperparameter setting, one series per head set.",
                svg: tradeoff))
        }
        if sideEffects, let kl = plot(a, x: MetricNames.kl, y: MetricNames.mc2, title: "\(a.name): KL vs MC2 along the grid") {
            out.append(ReportFigure(
                file: "\(base)-kl-mc2.svg",
                caption: "Side effect (KL from the unedited model on wikitext-2) vs MC2, one series per head set.",
                svg: kl))
        }
        return out + componentFigures(a) + sections(for: a).flatMap(\.figures)
    }

    /// A line plot of metric y against metric x, one series per head set; nil if no record has both.
    func plot(_ a: RecipeAnalysis, x: String, y: String, title: String) -> String? {
        let families = Array(Set(a.series.map(\.family)))
        let referenceFamilies = families.filter { f in
            !a.series.contains { $0.family == f && ["random", "randomSingle"].contains($0.headSet?.kind ?? "") }
        }.sorted()
        var colorIndex: [String: Int] = [:]
        for (i, f) in referenceFamilies.enumerated() { colorIndex[f] = i }
        let randomFamilies = families.filter { colorIndex[$0] == nil }.sorted()
        var series: [LinePlot.Series] = []
        for s in a.series {
            let pts = s.points.compactMap { r -> LinePlot.Point? in
                guard let vx = r.metric(x), let vy = r.metric(y), vx.isFinite, vy.isFinite else { return nil }
                return LinePlot.Point(x: vx, y: vy, label: s.pointLabel(r))
            }
            guard !pts.isEmpty else { continue }
            let count = a.series.filter { $0.family == s.family }.count
            let label = RecipeAnalysis.familyLabel(s, count: count)
            if let ci = colorIndex[s.family] {
                let color = ci == 0 && s.headSet?.kind == "top" ? CategoricalPalette.highlight : CategoricalPalette.color(ci)
                series.append(.init(
                    name: label + (s.seed != 0 ? " seed \(s.seed)" : ""), points: pts, color: color,
                    labelPoints: true, legendLabel: label))
            } else {
                let ri = randomFamilies.firstIndex(of: s.family) ?? 0
                let color = Self.mutedColors[ri % Self.mutedColors.count]
                series.append(.init(
                    name: "\(label) #\(s.headSet?.index ?? 0)", points: pts, color: color, dashed: ri > 0,
                    opacity: 0.55, legendLabel: label))
            }
        }
        guard !series.isEmpty else { return nil }
        // Proportions stay inside [0, 1]; KL and CE start at 0.
        func domain(_ metric: String, _ values: [Double]) -> ClosedRange<Double> {
            let d = PlotFrame.niceDomain(values)
            var lo = d.lowerBound, hi = d.upperBound
            if Self.proportions.contains(metric) {
                lo = max(lo, 0)
                hi = min(hi, 1)
            } else if metric == MetricNames.kl || metric == MetricNames.ce {
                lo = max(lo, 0)
            } else {
                return d
            }
            // Points on a clamped bound (info = 1, KL = 0) get a margin, so they and their
            // labels are drawn inside the frame, not on it.
            let pad = 0.03 * (hi - lo)
            if let v = values.min(), v - lo < pad { lo -= pad }
            if let v = values.max(), hi - v < pad { hi += pad }
            return lo...hi
        }
        let points = series.flatMap(\.points)
        return LinePlot(
            series: series, title: title, xLabel: MetricNames.label(x), yLabel: MetricNames.label(y),
            xDomain: domain(x, points.map(\.x)), yDomain: domain(y, points.map(\.y))
        ).svg()
    }

    /// Colours of random head-set families: muted, so reference sets stand out.
    static let mutedColors = ["#9a9a9a", "#86a9cf", "#a8cf8e", "#d9a3c2", "#c9b27c"]
    static let proportions: Set<String> = [
        MetricNames.truth, MetricNames.truthROUGE, MetricNames.info, MetricNames.truthTimesInfo, MetricNames.mc1,
        MetricNames.mc2, MetricNames.mc3, MetricNames.truthJudge, MetricNames.infoJudge, MetricNames.truthTimesInfoJudge,
    ]

    // MARK: tables

    /// Whether a recipe's runs were scored by judge models (then its truth/info columns, plots
    /// and criterion are the judges', marked †).
    static func judged(_ a: RecipeAnalysis) -> Bool { a.series.contains { $0.points.contains(where: isJudged) } }

    static func runColumns(judged: Bool) -> [String] {
        let g = MetricNames.generation(judged: judged)
        return [g.truth, g.info, g.truthTimesInfo, MetricNames.mc1, MetricNames.mc2, MetricNames.ce, MetricNames.kl]
    }

    /// Rows of the tests table: method, random family, N, random mean [CI], reference, value [CI], p.
    public func testRows(_ a: RecipeAnalysis) -> [[String]] {
        a.tests.flatMap { t -> [[String]] in
            let mean = Statistics.mean(t.values)
            let ci = t.meanInterval.map { " [\(Self.fmt($0.lowerBound)), \(Self.fmt($0.upperBound))]" } ?? ""
            let metric = MetricNames.short(t.criterion)
            let rows = t.references.map { r -> [String] in
                [t.label, "\(t.values.count)", metric, Self.fmt(mean) + ci, r.label,
                 Self.fmt(r.value) + (r.interval.map { " [\(Self.fmt($0.lowerBound)), \(Self.fmt($0.upperBound))]" } ?? ""),
                 "\(r.beatenBy)", Self.fmt(r.pValue)]
            }
            return rows.isEmpty ? [[t.label, "\(t.values.count)", metric, Self.fmt(mean) + ci, "–", "–", "–", "–"]] : rows
        }
    }
    static let testHeader = [
        "random head sets", "N", "metric (best over the grid)", "random mean [95% CI]", "reference",
        "reference value [95% CI]", "#random ≥ ref", "p",
    ]

    /// Rows of the per-head-set table: the best setting of each series.
    public func bestRows(_ a: RecipeAnalysis) -> [[String]] {
        a.series.compactMap { s -> [String]? in
            guard let b = s.best ?? s.points.first else { return nil }
            let by = s.best == nil ? "" : " (by \(MetricNames.short(s.criterion)))"
            return [s.methodName, Self.headSetCell(s.headSet), "\(s.seed)", s.pointLabel(b) + by]
                + Self.runColumns(judged: Self.judged(a)).map { b.metric($0).map(Self.fmt) ?? "–" }
        }
    }
    static func bestHeader(judged: Bool) -> [String] {
        ["method", "head set", "seed", "best setting"] + runColumns(judged: judged).map(MetricNames.short)
    }

    /// Rows of every run.
    public func runRows(_ a: RecipeAnalysis) -> [[String]] {
        a.series.flatMap { s in
            s.points.map { r in
                [String(r.runID.prefix(12)), s.methodName, Self.headSetCell(s.headSet), "\(s.seed)",
                 Self.parametersCell(r.spec.parameters)]
                    + Self.runColumns(judged: Self.judged(a)).map { r.metric($0).map(Self.fmt) ?? "–" }
            }
        }
    }
    static func runHeader(judged: Bool) -> [String] {
        ["run", "method", "head set", "seed", "parameters"] + runColumns(judged: judged).map(MetricNames.short)
    }

    /// The footnotes of the report: the substitutes', and the judges' when any recipe was judged.
    var footnotes: [String] {
        [MetricNames.footnote] + (report.recipes.contains(where: Self.judged) ? [MetricNames.judgeFootnote] : [])
    }

    static func headSetCell(_ h: HeadSet?) -> String {
        guard let h else { return "–" }
        let list = h.heads.count <= 4 ? h.heads.joined(separator: ",") : "\(h.heads.count) heads"
        return "\(h.name)" + (h.kind == "random" || h.kind == "randomSingle" ? " #\(h.index)" : "") + " (\(list))"
    }

    static func parametersCell(_ p: JSONValue) -> String {
        (p.fields ?? [:]).map { "\($0.key)=\($0.value.string ?? $0.value.text)" }.joined(separator: " ")
    }

    // MARK: documents

    public func markdown(figures: [ReportFigure]) -> String {
        var md = "# Locus sweep report\n\n"
        md += "\(report.records.count) finished runs"
        md += report.failures.isEmpty ? ".\n" : "; \(report.failures.count) runs failed (listed at the end).\n"
        md += "p = (1 + #{random ≥ reference}) / (1 + N); confidence intervals: percentile bootstrap, "
        md += "\(report.resamples) resamples, seed \(report.seed) (random-set means over sets; reference values over questions).\n\n"
        for a in report.recipes {
            md += "## \(a.name)\n\n"
            if !a.tests.isEmpty {
                md += "### Localization tests\n\n" + Self.markdownTable(Self.testHeader, testRows(a)) + "\n"
            }
            md += componentMarkdown(a)
            for section in sections(for: a) { md += "### \(section.title)\n\n" + section.markdown + "\n" }
            if hasHeadSetRuns(a) {
                md += "### Best setting per head set\n\n" + Self.markdownTable(Self.bestHeader(judged: Self.judged(a)), bestRows(a)) + "\n"
            }
            for f in figures where f.file.hasPrefix(Self.slug(a.name) + "-") {
                md += "![\(f.caption)](figures/\(f.file))\n\n"
            }
            md += "<details><summary>All runs</summary>\n\n" + Self.markdownTable(Self.runHeader(judged: Self.judged(a)), runRows(a)) + "\n</details>\n\n"
        }
        if !report.failures.isEmpty {
            md += "## Failed runs\n\n" + Self.markdownTable(
                ["run", "recipe", "run", "error"],
                report.failures.map { [String($0.runID.prefix(12)), $0.spec.recipe, $0.spec.label, $0.error ?? ""] }) + "\n"
        }
        md += footnotes.map { $0 + "\n" }.joined(separator: "\n")
        return md
    }

    public func html(figures: [ReportFigure]) -> String {
        var h = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Locus sweep report</title>
            <style>
            body{font-family:Helvetica,Arial,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
            table{border-collapse:collapse;margin:1em 0;font-size:13px}
            th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
            th{background:#f2f2f2} td:first-child,th:first-child{text-align:left}
            figure{margin:1.5em 0} figcaption{font-size:13px;color:#555}
            .note{font-size:13px;color:#555}
            </style></head><body>
            <h1>Locus sweep report</h1>

            """
        h += "<p>\(report.records.count) finished runs"
        h += report.failures.isEmpty ? ".</p>\n" : "; \(report.failures.count) failed runs (listed at the end).</p>\n"
        h += "<p class=\"note\">p = (1 + #{random ≥ reference}) / (1 + N); confidence intervals: percentile bootstrap, \(report.resamples) resamples, seed \(report.seed).</p>\n"
        for a in report.recipes {
            h += "<h2>\(Self.escape(a.name))</h2>\n"
            if !a.tests.isEmpty { h += "<h3>Localization tests</h3>\n" + Self.htmlTable(Self.testHeader, testRows(a)) }
            h += componentHTML(a)
            for section in sections(for: a) { h += "<h3>\(Self.escape(section.title))</h3>\n" + section.html }
            if hasHeadSetRuns(a) {
                h += "<h3>Best setting per head set</h3>\n" + Self.htmlTable(Self.bestHeader(judged: Self.judged(a)), bestRows(a))
            }
            for f in figures where f.file.hasPrefix(Self.slug(a.name) + "-") {
                let svg = f.svg.components(separatedBy: "\n").filter { !$0.hasPrefix("<?xml") }.joined(separator: "\n")
                h += "<figure id=\"\(f.file)\">\n\(svg)<figcaption>\(Self.escape(f.caption)) (figures/\(f.file))</figcaption></figure>\n"
            }
            h += "<details><summary>All runs</summary>\n" + Self.htmlTable(Self.runHeader(judged: Self.judged(a)), runRows(a)) + "</details>\n"
        }
        if !report.failures.isEmpty {
            h += "<h2>Failed runs</h2>\n" + Self.htmlTable(
                ["run", "recipe", "run", "error"],
                report.failures.map { [String($0.runID.prefix(12)), $0.spec.recipe, $0.spec.label, $0.error ?? ""] })
        }
        for note in footnotes {
            h += "<p class=\"note\">\(Self.escape(note.replacingOccurrences(of: "\\*", with: "*")))</p>\n"
        }
        h += "</body></html>\n"
        return h
    }

    /// Machine-readable numbers of the tests.
    public func summaryJSON() -> JSONValue {
        let bootstrap: JSONValue = .object([
            ("resamples", .int(report.resamples)), ("seed", .number(Double(report.seed))),
        ])
        return .object([
            ("format", "locus.sweep-report/1"),
            ("runs", .int(report.records.count)),
            ("failedRuns", .int(report.failures.count)),
            ("bootstrap", bootstrap),
            ("recipes", .array(report.recipes.map(recipeJSON))),
        ])
    }

    private func recipeJSON(_ a: RecipeAnalysis) -> JSONValue {
        .object([
            ("name", .string(a.name)),
            ("runs", .int(a.series.reduce(0) { $0 + $1.points.count })),
            ("sections", .array(sections(for: a).map { .object([("title", .string($0.title)), ("summary", $0.summary)]) })),
            ("tests", .array(a.tests.map(Self.testJSON))),
            ("best", .array(a.series.compactMap(bestJSON))),
        ])
    }

    private static func interval(_ ci: ClosedRange<Double>?) -> JSONValue {
        ci.map { .array([.number($0.lowerBound), .number($0.upperBound)]) } ?? .null
    }

    private static func testJSON(_ t: HeadSetTest) -> JSONValue {
        let references: [JSONValue] = t.references.map { r in
            .object([
                ("label", .string(r.label)), ("value", .number(r.value)), ("ci", interval(r.interval)),
                ("randomAtLeastAsGood", .int(r.beatenBy)), ("p", .number(r.pValue)),
            ])
        }
        return .object([
            ("method", .string(t.methodName)), ("random", .string(t.label)),
            ("n", .int(t.values.count)),
            ("values", .array(t.values.map(JSONValue.number))),
            ("mean", .number(Statistics.mean(t.values))),
            ("meanCI", interval(t.meanInterval)),
            ("references", .array(references)),
        ])
    }

    private func bestJSON(_ s: RunSeries) -> JSONValue? {
        guard let b = s.best else { return nil }
        return .object([
            ("method", .string(s.methodName)), ("headSet", s.headSet.map { .string($0.selection) } ?? .null),
            ("seed", .number(Double(s.seed))), ("setting", b.spec.parameters),
            ("truthTimesInfo", truthTimesInfo(b).map(JSONValue.number) ?? .null),
        ])
    }

    /// Writes everything into `directory`; returns the paths written.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        let figs = figures()
        let figureDirectory = directory.appendingPathComponent("figures")
        try FileManager.default.createDirectory(at: figureDirectory, withIntermediateDirectories: true)
        var written: [URL] = []
        for f in figs {
            let url = figureDirectory.appendingPathComponent(f.file)
            try AtomicFile.write(f.svg, to: url)
            written.append(url)
        }
        let md = directory.appendingPathComponent("report.md")
        try AtomicFile.write(markdown(figures: figs), to: md)
        let html = directory.appendingPathComponent("report.html")
        try AtomicFile.write(self.html(figures: figs), to: html)
        let json = directory.appendingPathComponent("summary.json")
        try AtomicFile.write(summaryJSON().text + "\n", to: json)
        return written + [md, html, json]
    }

    // MARK: helpers

    public static func fmt(_ x: Double) -> String {
        guard x.isFinite else { return "–" }
        return String(format: abs(x) >= 100 ? "%.1f" : "%.3f", x)
    }

    public static func slug(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" })
    }

    public static func escape(_ s: String) -> String { SVGElement.escape(s) }

    public static func markdownTable(_ header: [String], _ rows: [[String]]) -> String {
        func row(_ cells: [String]) -> String {
            "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |\n"
        }
        return row(header) + "|" + header.map { _ in " --- |" }.joined() + "\n" + rows.map(row).joined()
    }

    public static func htmlTable(_ header: [String], _ rows: [[String]]) -> String {
        var t = "<table>\n<tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
        for r in rows { t += "<tr>" + r.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n" }
        return t + "</table>\n"
    }
}
