import Foundation
import LocusCore

/// The reduced results of one or more results files (shards merge by run ID): per recipe, one
/// series per (method, head set, seed) along the swept hyperparameter, each head set's best
/// True×Info, and per random head-set family a null distribution with empirical p-values of the
/// reference sets (top-K, all heads, explicit lists) and bootstrap confidence intervals.
///
/// Everything is computed from records sorted by content, never by file order, so merged shard
/// files and one unsharded file give byte-identical reports.
public struct SweepReport: Sendable {
    /// Finished runs (status ok), one per recipe and run ID, in canonical order.
    public var records: [RunRecord]
    /// Runs whose only records are errors.
    public var failures: [RunRecord]
    public var recipes: [RecipeAnalysis]
    /// Seed of the bootstrap.
    public var seed: UInt64
    public var resamples: Int

    public init(records input: [RunRecord], seed: UInt64 = 0, resamples: Int = 2000) {
        // One record per (recipe, run ID): the same computation copied into several recipes
        // (`locus run --reuse`) belongs to each of them when their files are reported together.
        func key(_ r: RunRecord) -> String { r.spec.recipe + "\u{1}" + r.runID }
        var ok: [String: RunRecord] = [:]
        var errors: [String: RunRecord] = [:]
        for r in input {
            let k = key(r)
            if r.isOK {
                // Duplicates (a shard run twice) are identical computations; keep a canonical one.
                if let have = ok[k], have.metrics.canonicalText <= r.metrics.canonicalText { continue }
                ok[k] = r
            } else if errors[k] == nil || errors[k]!.finished < r.finished {
                errors[k] = r
            }
        }
        records = ok.values.sorted(by: Self.canonicalOrder)
        failures = errors.values.filter { ok[key($0)] == nil }.sorted(by: Self.canonicalOrder)
        self.seed = seed
        self.resamples = resamples
        let byRecipe = Dictionary(grouping: records, by: \.spec.recipe)
        recipes = byRecipe.keys.sorted().map {
            RecipeAnalysis(name: $0, records: byRecipe[$0]!, seed: seed, resamples: resamples)
        }
    }

    /// Reads and merges results files (torn final lines and unparsable lines are skipped).
    public static func load(_ urls: [URL], seed: UInt64 = 0, resamples: Int = 2000) throws -> SweepReport {
        var all: [RunRecord] = []
        for url in urls { all += try ResultsFile.read(url).records }
        return SweepReport(records: all, seed: seed, resamples: resamples)
    }

    static func canonicalOrder(_ a: RunRecord, _ b: RunRecord) -> Bool {
        let x = a.spec, y = b.spec
        if x.recipe != y.recipe { return x.recipe < y.recipe }
        if x.methodName != y.methodName { return x.methodName < y.methodName }
        let hx = x.headSet.map { (HeadSetOrder.rank($0.kind), $0.name, $0.index) } ?? (0, "", 0)
        let hy = y.headSet.map { (HeadSetOrder.rank($0.kind), $0.name, $0.index) } ?? (0, "", 0)
        if hx != hy { return hx < hy }
        if x.seed != y.seed { return x.seed < y.seed }
        let px = x.parameters.fields ?? [:], py = y.parameters.fields ?? [:]
        for (fa, fb) in zip(px, py) where fa.value != fb.value {
            if let na = fa.value.number, let nb = fb.value.number { return na < nb }
            return fa.value.canonicalText < fb.value.canonicalText
        }
        return a.runID < b.runID
    }
}

enum HeadSetOrder {
    static func rank(_ kind: String) -> Int {
        ["top": 0, "all": 1, "explicit": 2, "random": 3, "randomSingle": 4][kind] ?? 5
    }
}

/// Whether a record's generations were scored by judge models (recipes with judges).
public func isJudged(_ r: RunRecord) -> Bool { r.metric(MetricNames.truthTimesInfoJudge) != nil }

/// True×Info of a record: the stored value, else truth × info.
public func truthTimesInfo(_ r: RunRecord) -> Double? {
    if let v = r.metric(MetricNames.truthTimesInfo) { return v }
    guard let t = r.metric(MetricNames.truth), let i = r.metric(MetricNames.info) else { return nil }
    return t * i
}

/// One method's runs on one head set with one seed, along the swept hyperparameter.
public struct RunSeries: Sendable {
    public var methodName: String
    public var method: String
    public var headSet: HeadSet?
    public var seed: Int
    /// The parameter the points vary along (alpha, tau, beta, or the first varying one).
    public var axis: String?
    public var points: [RunRecord]

    /// The metric the best point maximises: True×Info when the runs computed generation (the
    /// judges' when they were judged), else MC2 (MC-only sweeps such as figure 3), so the "best
    /// setting" is never just the first point.
    public var criterion: String {
        if points.contains(where: isJudged) { return MetricNames.truthTimesInfoJudge }
        return points.contains { truthTimesInfo($0) != nil } || !points.contains { $0.metric(MetricNames.mc2) != nil }
            ? MetricNames.truthTimesInfo : MetricNames.mc2
    }

    /// A point's value of `criterion`.
    public func criterionValue(_ r: RunRecord) -> Double? {
        criterion == MetricNames.truthTimesInfo ? truthTimesInfo(r) : r.metric(criterion)
    }

    /// The point with the highest `criterion` value (ties: the earlier point).
    public var best: RunRecord? {
        var best: (RunRecord, Double)? = nil
        for p in points {
            guard let v = criterionValue(p), v.isFinite else { continue }
            if best == nil || v > best!.1 { best = (p, v) }
        }
        return best?.0
    }
    public var bestValue: Double? { best.flatMap(criterionValue) }

    /// The generator family: method label + head-set name.
    public var family: String { methodName + "/" + (headSet?.name ?? "-") }

    public func pointLabel(_ r: RunRecord) -> String {
        guard let axis, let v = r.spec.parameters[axis] else { return "" }
        let symbol = ["alpha": "α", "tau": "τ", "beta": "β"][axis] ?? axis
        return "\(symbol)=\(v.number.map { JSONValue.format($0) } ?? v.text)"
    }
}

/// The null distribution of one random head-set family against the reference sets.
public struct HeadSetTest: Sendable {
    public struct Reference: Sendable {
        public var label: String
        public var family: String
        /// Best `criterion` value over the grid (mean over seeds).
        public var value: Double
        /// Bootstrap CI over questions of the best run (when per-question arrays are recorded).
        public var interval: ClosedRange<Double>?
        public var pValue: Double
        /// Random sets at least as good.
        public var beatenBy: Int
    }

    public var methodName: String
    public var family: String
    public var label: String
    /// The metric compared: True×Info, or MC2 for MC-only sweeps (`RunSeries.criterion`).
    public var criterion: String
    /// Best `criterion` value over the grid of each random set (and seed).
    public var values: [Double]
    public var meanInterval: ClosedRange<Double>?
    public var references: [Reference]
}

/// The analysis of one recipe's records.
public struct RecipeAnalysis: Sendable {
    public var name: String
    public var variants: [String]
    public var series: [RunSeries]
    public var tests: [HeadSetTest]

    init(name: String, records: [RunRecord], seed: UInt64, resamples: Int) {
        self.name = name
        variants = Array(Set(records.map(\.spec.variant))).sorted()
        // Series: (methodName, head set identity, seed, non-axis parameters).
        var groups: [String: [RunRecord]] = [:]
        var order: [String] = []
        let byMethod = Dictionary(grouping: records, by: \.spec.methodName)
        var axisOf: [String: String?] = [:]
        for (m, rs) in byMethod { axisOf[m] = Self.axis(rs) }
        for r in records {
            let axis = axisOf[r.spec.methodName] ?? nil
            let rest = r.spec.parameters.removing(axis.map { [$0] } ?? []).canonicalText
            let h = r.spec.headSet.map { "\($0.name)#\($0.index)#\($0.selection)" } ?? "-"
            let key = "\(r.spec.methodName)|\(h)|\(r.spec.seed)|\(rest)"
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(r)
        }
        series = order.map { key in
            let rs = groups[key]!
            let s = rs[0].spec
            let axis = axisOf[s.methodName] ?? nil
            let sorted = rs.sorted { a, b in
                let x = axis.flatMap { a.spec.parameters[$0]?.number } ?? 0
                let y = axis.flatMap { b.spec.parameters[$0]?.number } ?? 0
                return x != y ? x < y : a.runID < b.runID
            }
            return RunSeries(
                methodName: s.methodName, method: s.method, headSet: s.headSet, seed: s.seed, axis: axis,
                points: sorted)
        }
        // Tests: each random family against the same method's reference families.
        var tests: [HeadSetTest] = []
        let methods = Array(Set(series.map(\.methodName))).sorted()
        for (mi, m) in methods.enumerated() {
            let mine = series.filter { $0.methodName == m }
            let randomFamilies = Array(Set(mine.filter { ["random", "randomSingle"].contains($0.headSet?.kind ?? "") }.map(\.family))).sorted()
            func references(_ pool: [RunSeries]) -> [RunSeries] {
                pool.filter { ["top", "all", "explicit"].contains($0.headSet?.kind ?? "") }
            }
            // References come from the same method; a method without any (e.g. single heads run
            // as their own method for their own learning rate, figure 7) is tested against the
            // reference sets of the other methods of the same kind (ipo against ipo).
            var pool = references(mine)
            if pool.isEmpty, let kind = mine.first?.method {
                pool = references(series.filter { $0.method == kind && $0.methodName != m })
            }
            let referenceFamilies = Array(Set(pool.map(\.family))).sorted()
            for (fi, family) in randomFamilies.enumerated() {
                let members = mine.filter { $0.family == family }
                let values = members.compactMap(\.bestValue)
                guard !values.isEmpty else { continue }
                let testSeed = seed &+ UInt64(mi * 1000 + fi)
                var refs: [HeadSetTest.Reference] = []
                for rf in referenceFamilies {
                    let rs = pool.filter { $0.family == rf }
                    let bests = rs.compactMap(\.bestValue)
                    guard !bests.isEmpty else { continue }
                    let value = Statistics.mean(bests)
                    var interval: ClosedRange<Double>? = nil
                    let names = MetricNames.generation(judged: rs[0].criterion == MetricNames.truthTimesInfoJudge)
                    if rs.count == 1, let b = rs[0].best,
                        let t = b.metrics[names.truthPerQuestion]?.array?.compactMap(\.number),
                        let i = b.metrics[names.infoPerQuestion]?.array?.compactMap(\.number), !t.isEmpty
                    {
                        interval = Self.truthTimesInfoInterval(truth: t, info: i, seed: testSeed, resamples: resamples)
                    }
                    refs.append(.init(
                        label: Self.familyLabel(rs[0], count: rs.count), family: rf, value: value,
                        interval: interval, pValue: Statistics.empiricalPValue(observed: value, null: values),
                        beatenBy: values.filter { $0 >= value }.count))
                }
                tests.append(HeadSetTest(
                    methodName: m, family: family, label: Self.familyLabel(members[0], count: members.count),
                    criterion: members[0].criterion, values: values,
                    meanInterval: Statistics.meanInterval(values, resamples: resamples, seed: testSeed),
                    references: refs))
            }
        }
        self.tests = tests
    }

    /// Bootstrap interval of mean(truth) × mean(info) over questions (per-question 0/1 arrays,
    /// one draw of question indices for both).
    public static func truthTimesInfoInterval(truth: [Double], info: [Double], seed: UInt64 = 0, resamples: Int = 2000)
        -> ClosedRange<Double>?
    {
        guard truth.count == info.count else { return nil }
        return Statistics.bootstrap(count: truth.count, resamples: resamples, seed: seed) { idx in
            Statistics.mean(idx.map { truth[$0] }) * Statistics.mean(idx.map { info[$0] })
        }
    }

    /// The swept parameter of a method's records: alpha, tau or beta if they vary, else the
    /// first numeric parameter that varies.
    static func axis(_ records: [RunRecord]) -> String? {
        var varying: [String] = []
        let keys = records.first?.spec.parameters.fields?.map(\.key) ?? []
        for k in keys {
            let values = Set(records.compactMap { $0.spec.parameters[k]?.canonicalText })
            if values.count > 1, records.allSatisfy({ $0.spec.parameters[k]?.number != nil }) { varying.append(k) }
        }
        for preferred in ["alpha", "tau", "beta"] where varying.contains(preferred) { return preferred }
        if let first = varying.first { return first }
        for preferred in ["alpha", "tau", "beta"] where keys.contains(preferred) { return preferred }
        return nil
    }

    /// "iti top-16 (probe ranking)", "iti random 16-head sets (N = 50)", "ipo all 270 heads", …
    public static func familyLabel(_ s: RunSeries, count: Int) -> String {
        guard let h = s.headSet else { return s.methodName }
        let k = h.heads.count
        let what: String
        switch h.kind {
        case "top": what = "top-\(k) (probe ranking)"
        case "random": what = "random \(k)-head sets (N = \(count))"
        case "randomSingle": what = "random single heads (N = \(count))"
        case "all": what = "all \(k) heads"
        default: what = h.name + (k == 1 ? " (\(h.heads[0]))" : " (\(k) heads)")
        }
        return "\(s.methodName) \(what)"
    }
}
