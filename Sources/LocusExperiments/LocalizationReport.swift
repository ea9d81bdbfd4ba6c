import LocusCore
import Foundation
import LocusEditing
import LocusFigures
import LocusRecipes

/// `locus report`'s sections for `hase` and `interchange` runs (METHODS.md §8), from the run
/// records alone (any number of shard files, in any order: facts are sorted by run index).
///
/// hase: R² of the rewrite score regressed on layer (a factor), on the tracing effect, and on
/// both with their interaction, for the facts passing Hase's filter (correct generation and
/// p(true object) ≥ the run's `minTrueProbability`) and for all facts, the F test of the gain
/// (`HaseAnalysis`), the same R² for paraphrase and neighbourhood scores, and a figure of the
/// median tracing effect and mean rewrite score per layer. interchange: per layer, how often a
/// ROME edit and each interchange patch flip the answer and how often they agree (`AgreementRow`).
public struct LocalizationReport: ReportSectionProvider {
    public init() {}

    public var methods: Set<String> { ["hase", "interchange"] }

    /// One section per method entry and layer list of `analysis` (failed and skipped runs left out).
    public func sections(for analysis: RecipeAnalysis) -> [ReportSection] {
        // One section per method entry (methodName) and layer list.
        var groups: [String: [RunRecord]] = [:]
        var order: [String] = []
        for series in analysis.series where methods.contains(series.method) {
            for r in series.points where r.isOK && r.metrics["skipped"]?.bool != true {
                let key = "\(r.spec.methodName)|\(r.spec.method)|\(r.spec.string("layers") ?? "")"
                if groups[key] == nil { order.append(key) }
                groups[key, default: []].append(r)
            }
        }
        return order.map { key in
            let records = groups[key]!.sorted {
                ($0.metric("fact_index") ?? 0, $0.spec.seed) < ($1.metric("fact_index") ?? 0, $1.spec.seed)
            }
            let slug = ReportWriter.slug(analysis.name) + "-" + ReportWriter.slug(records[0].spec.methodName)
            return records[0].spec.method == "hase"
                ? Self.hase(records, slug: slug) : Self.interchange(records, slug: slug)
        }
    }

    static func doubles(_ r: RunRecord, _ key: String) -> [Double] {
        r.metrics[key]?.array?.compactMap(\.number) ?? []
    }

    static func layers(_ r: RunRecord) -> [Int] { r.metrics["layers"]?.array?.compactMap(\.int) ?? [] }

    static func f3(_ x: Double) -> String { String(format: "%.3f", x) }

    /// The middle value (mean of the two middle ones for an even count); NaN when empty.
    static func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func hase(_ records: [RunRecord], slug: String) -> ReportSection {
        let spec = records[0].spec
        let layers = layers(records[0])
        let filter = HaseFilter(
            requireCorrect: spec.parameters["requireCorrect"]?.bool ?? true,
            minTrueProbability: spec.number("minTrueProbability") ?? 0.02)
        func facts(_ metric: String) -> [HaseFact] {
            records.map { r in
                HaseFact(
                    id: r.metrics["fact"]?.string ?? "", correct: r.metrics["correct"]?.bool ?? false,
                    trueProbability: r.metric("p_true") ?? 0, layers: layers,
                    tracingEffect: doubles(r, "tracing_effect"), editSuccess: doubles(r, metric))
            }
        }
        let rewriteFacts = facts("rewrite_score")
        let admitted = rewriteFacts.filter(filter.admits).count
        let observations = filter.observations(rewriteFacts)
        let a = HaseAnalysis(observations)
        let unfiltered = HaseAnalysis(HaseFilter.none.observations(rewriteFacts))
        let other = ["paraphrase_score", "neighbourhood_score"].map { HaseAnalysis(filter.observations(facts($0))) }
        let header = ["regression of rewrite score on", "R², facts passing Hase's filter", "R², all facts (no filter)"]
        let rows = [
            ["layer (factor)", f3(a.layerOnly.rSquared), f3(unfiltered.layerOnly.rSquared)],
            ["tracing effect", f3(a.tracingOnly.rSquared), f3(unfiltered.tracingOnly.rSquared)],
            ["both + interaction", f3(a.both.rSquared), f3(unfiltered.both.rSquared)],
            ["gain of both over layer", f3(a.gain), f3(unfiltered.gain)],
        ]
        let note = "Filter (correct: \(filter.requireCorrect), p(true) ≥ \(filter.minTrueProbability)): \(admitted) of \(records.count) facts, \(observations.count) observations; F(\(a.fTest.numeratorDegrees), \(a.fTest.denominatorDegrees)) = \(String(format: "%.3f", a.fTest.statistic)), p = \(String(format: "%.3g", a.fTest.pValue)). Unfiltered: F(\(unfiltered.fTest.numeratorDegrees), \(unfiltered.fTest.denominatorDegrees)) = \(String(format: "%.3f", unfiltered.fTest.statistic)), p = \(String(format: "%.3g", unfiltered.fTest.pValue)). Filtered R² layer / tracing / both: paraphrase \(f3(other[0].layerOnly.rSquared)) / \(f3(other[0].tracingOnly.rSquared)) / \(f3(other[0].both.rSquared)), neighbourhood \(f3(other[1].layerOnly.rSquared)) / \(f3(other[1].tracingOnly.rSquared)) / \(f3(other[1].both.rSquared))."
        let summary: JSONValue = .object([
            "analysis": "hase", "facts": .number(Double(records.count)),
            "factsAdmitted": .number(Double(admitted)), "observations": .number(Double(observations.count)),
            "filterRequireCorrect": .bool(filter.requireCorrect), "filterMinTrueProbability": .number(filter.minTrueProbability),
            "r2Layer": .number(a.layerOnly.rSquared), "r2Tracing": .number(a.tracingOnly.rSquared),
            "r2Both": .number(a.both.rSquared), "gain": .number(a.gain),
            "f": .number(a.fTest.statistic), "fDf1": .number(Double(a.fTest.numeratorDegrees)),
            "fDf2": .number(Double(a.fTest.denominatorDegrees)), "p": .number(a.fTest.pValue),
            "unfilteredR2Layer": .number(unfiltered.layerOnly.rSquared),
            "unfilteredR2Tracing": .number(unfiltered.tracingOnly.rSquared),
            "unfilteredR2Both": .number(unfiltered.both.rSquared), "unfilteredGain": .number(unfiltered.gain),
            "layers": .array(layers.map { .number(Double($0)) }),
        ])
        // Median tracing effect: the normalised effect divides by p_clean − p_corrupt, which is
        // tiny for facts the model does not know, so a few facts dominate a mean. Drawn over every
        // fact (the filter may leave too few for a curve); the table has both.
        let all = HaseFilter.none.observations(rewriteFacts)
        let at = { (l: Int) in all.filter { $0.layer == l } }
        let medianEffect = layers.map { median(at($0).map(\.tracingEffect)) }
        let meanScore = layers.map { l in at(l).map(\.editSuccess).reduce(0, +) / Double(max(1, at(l).count)) }
        let window = spec.number("window").map { String(Int($0)) } ?? "?"
        let chart = LineChart(
            x: layers.map(Double.init),
            series: [.init(name: "tracing effect (median)", values: medianEffect, color: "#1b7837"),
                     .init(name: "rewrite score (mean)", values: meanScore, color: "#762a83")],
            title: "Hase tracing effect (\(spec.string("tracingKind") ?? "mlp") window \(window)) vs ROME edit success, all \(records.count) facts",
            xLabel: "layer", yLabel: "over facts")
        return ReportSection(
            title: "Hase et al.: does localization inform editing? (\(spec.methodName))",
            header: header, rows: rows, note: note,
            figure: ReportFigure(
                file: "\(slug)-hase.svg",
                caption: "Median tracing effect and mean ROME rewrite score per layer over all facts (Hase et al.).",
                svg: chart.svg()),
            summary: summary)
    }

    static func interchange(_ records: [RunRecord], slug: String) -> ReportSection {
        var outcomes: [(layer: Int, edit: Bool, patch: Bool)] = []
        var outcomesMLP: [(layer: Int, edit: Bool, patch: Bool)] = []
        // A flip needs the clean run to prefer o over o′; other facts are reported, not counted.
        let usable = records.filter { ($0.metric("clean_logit_difference") ?? 0) > 0 }
        let excluded = records.count - usable.count
        for r in usable {
            let layers = layers(r)
            let e = doubles(r, "edit_logit_difference"), p = doubles(r, "patch_resid_post_logit_difference")
            let m = doubles(r, "patch_mlp_out_logit_difference")
            for (j, l) in layers.enumerated() where j < e.count && j < p.count && j < m.count {
                outcomes.append((l, e[j] < 0, p[j] < 0))
                outcomesMLP.append((l, e[j] < 0, m[j] < 0))
            }
        }
        let rows = AgreementRow.table(outcomes), rowsMLP = AgreementRow.table(outcomesMLP)
        let header = ["layer", "facts", "ROME flips", "resid_post patch flips", "agreement", "mlp_out patch flips", "agreement"]
        let cells = zip(rows, rowsMLP).map { r, m in
            ["\(r.layer)", "\(r.count)", "\(r.editFlips)", "\(r.patchFlips)", String(format: "%.2f", r.agreement),
             "\(m.patchFlips)", String(format: "%.2f", m.agreement)]
        }
        let note = "A flip is a negative logit(o) − logit(o′) at the prompt's last token; \(usable.count) of \(records.count) facts counted (\(excluded) excluded: the unedited model already prefers o′ or ties)."
        let chart = LineChart(
            x: rows.map { Double($0.layer) },
            series: [
                .init(name: "agree, resid_post", values: rows.map(\.agreement), color: "#762a83"),
                .init(name: "agree, mlp_out", values: rowsMLP.map(\.agreement), color: "#1b7837"),
                .init(name: "ROME flips", values: rows.map { Double($0.editFlips) / Double(max(1, $0.count)) },
                      color: "#444444"),
                .init(name: "resid_post patch flips",
                      values: rows.map { Double($0.patchFlips) / Double(max(1, $0.count)) }, color: "#c2a5cf"),
                .init(name: "mlp_out patch flips",
                      values: rowsMLP.map { Double($0.patchFlips) / Double(max(1, $0.count)) }, color: "#a6dba0"),
            ],
            title: "ROME flips vs interchange-patch flips (last subject token), \(usable.count) facts",
            xLabel: "layer", yLabel: "rate over facts", yRange: 0...1)
        let summary: JSONValue = .object([
            "analysis": "interchange", "facts": .number(Double(records.count)),
            "factsCounted": .number(Double(usable.count)),
            "agreementResidPost": .array(rows.map { .number($0.agreement) }),
            "agreementMLPOut": .array(rowsMLP.map { .number($0.agreement) }),
            "layers": .array(rows.map { .number(Double($0.layer)) }),
        ])
        return ReportSection(
            title: "Interchange agreement: ROME flips vs patch flips (\(records[0].spec.methodName))",
            header: header, rows: cells, note: note,
            figure: ReportFigure(
                file: "\(slug)-interchange.svg",
                caption: "Per layer: how often ROME and each interchange patch flip the answer, and how often they agree.",
                svg: chart.svg()),
            summary: summary)
    }
}
