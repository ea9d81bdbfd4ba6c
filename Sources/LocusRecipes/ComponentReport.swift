import Foundation
import LocusCore
import LocusFigures

/// The report part of the component methods (`scrub`, `ablate`; METHODS.md §9): one number per
/// head set (loss recovered, or the ablation effect), the reference sets (top-K, all heads,
/// explicit lists) against the random sets of the same study with empirical p-values
/// p = (1 + #{random ≥ reference}) / (1 + N), a table with each run's bootstrap CI, and a
/// histogram with the references as lines.
public struct ComponentStudy: Sendable {
    public struct Row: Sendable {
        public var headSet: HeadSet?
        public var value: Double
        public var interval: [Double]?
        /// For reference sets: the p-value among the study's random sets.
        public var pValue: Double?
    }

    public var methodName: String
    public var method: String
    /// The metric the study reduces to and its plain-words label.
    public var metric: String
    public var label: String
    /// Everything that is not the head set, e.g. `ablation="mean" items=64`.
    public var setting: String
    public var seed: Int
    public var rows: [Row]
    public var randomValues: [Double]

    /// Metric of each component method: (metric key, CI key, axis label).
    static let metricOf: [String: (String, String, String)] = [
        "scrub": ("lossRecovered", "lossRecoveredCI95", "loss recovered (1 = the model, 0 = the baseline)"),
        "ablate": ("effect", "effectCI95", "ablation effect (metric change toward worse)"),
    ]

    /// The studies among `records` (records of other methods are ignored).
    public static func studies(_ records: [RunRecord]) -> [ComponentStudy] {
        var groups: [String: [RunRecord]] = [:]
        var order: [String] = []
        for r in records where metricOf[r.spec.method] != nil {
            let key = "\(r.spec.methodName)|\(r.spec.parameters.canonicalText)|\(r.spec.seed)"
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(r)
        }
        return order.map { key in
            let rs = groups[key]!
            let spec = rs[0].spec
            let (metric, ciKey, label) = metricOf[spec.method]!
            let random = rs.filter { $0.spec.headSet?.kind == "random" }.compactMap { $0.metric(metric) }
                .filter(\.isFinite)
            let rows = rs.compactMap { r -> Row? in
                guard let v = r.metric(metric) else { return nil }
                let ci = r.metrics[ciKey]?.array?.compactMap(\.number)
                let isReference = r.spec.headSet.map { $0.kind != "random" && $0.kind != "randomSingle" } ?? false
                let p = isReference && !random.isEmpty
                    ? Double(1 + random.filter { $0 >= v }.count) / Double(1 + random.count) : nil
                return Row(headSet: r.spec.headSet, value: v, interval: ci, pValue: p)
            }
            let setting = (spec.parameters.fields ?? [:]).map { "\($0.key)=\($0.value.text)" }.joined(separator: " ")
            return ComponentStudy(
                methodName: spec.methodName, method: spec.method, metric: metric, label: label,
                setting: setting, seed: spec.seed, rows: rows, randomValues: random)
        }
    }

    public var title: String { "\(methodName) (\(setting), seed \(seed))" }

    public static let header = ["head set", "value", "95% CI (bootstrap over items)", "p among random sets"]

    public var tableRows: [[String]] {
        rows.map { r in
            [
                ReportWriter.headSetCell(r.headSet), ReportWriter.fmt(r.value),
                r.interval.map { $0.count == 2 ? "[\(ReportWriter.fmt($0[0])), \(ReportWriter.fmt($0[1]))]" : "–" } ?? "–",
                r.pValue.map { "\(ReportWriter.fmt($0)) (N = \(randomValues.count))" } ?? "",
            ]
        }
    }

    /// Histogram of the random sets with the reference sets as lines (nil without random sets).
    public func histogram() -> Histogram? {
        guard !randomValues.isEmpty else { return nil }
        let refs = rows.filter { $0.pValue != nil }.map {
            Histogram.Reference(value: $0.value, label: ReportWriter.headSetCell($0.headSet))
        }
        let notes = rows.filter { $0.pValue != nil }.map {
            "\(ReportWriter.headSetCell($0.headSet)): \(ReportWriter.fmt($0.value)), p = \(ReportWriter.fmt($0.pValue!))"
        }
        return Histogram(
            values: randomValues, title: "\(methodName): \(label), random sets vs references",
            xLabel: label, references: refs, annotations: notes)
    }
}

extension ReportWriter {
    /// The component studies of one recipe's records.
    func componentStudies(_ a: RecipeAnalysis) -> [ComponentStudy] {
        ComponentStudy.studies(a.series.flatMap(\.points))
    }

    func componentFigures(_ a: RecipeAnalysis) -> [ReportFigure] {
        componentStudies(a).enumerated().compactMap { i, s in
            s.histogram().map {
                ReportFigure(
                    file: "\(Self.slug(a.name))-\(Self.slug(s.methodName))-\(i)-histogram.svg",
                    caption: "\(s.title): \(s.label) of the random head sets (bars) and the reference sets (lines).",
                    svg: $0.svg())
            }
        }
    }

    func componentMarkdown(_ a: RecipeAnalysis) -> String {
        componentStudies(a).map { s in
            "### \(s.title)\n\n\(s.label)\n\n" + Self.markdownTable(ComponentStudy.header, s.tableRows) + "\n"
        }.joined()
    }

    func componentHTML(_ a: RecipeAnalysis) -> String {
        componentStudies(a).map { s in
            "<h3>\(Self.escape(s.title))</h3>\n<p class=\"note\">\(Self.escape(s.label))</p>\n"
                + Self.htmlTable(ComponentStudy.header, s.tableRows)
        }.joined()
    }
}
