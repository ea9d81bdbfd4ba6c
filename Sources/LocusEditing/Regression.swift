import LocusCore
import Foundation

/// An ordinary-least-squares fit y ≈ X β with its goodness of fit.
public struct OLSFit: Sendable, Equatable, Codable {
    public var coefficients: [Double]
    /// Number of linearly independent columns actually fitted.
    public var rank: Int
    public var observations: Int
    public var residualSumOfSquares: Double
    public var totalSumOfSquares: Double

    /// R² = 1 − RSS/TSS (TSS about the mean; 0 when y is constant).
    public var rSquared: Double {
        totalSumOfSquares > 0 ? 1 - residualSumOfSquares / totalSumOfSquares : 0
    }

    public init(design x: [[Double]], response y: [Double]) {
        let n = y.count, p = x.first?.count ?? 0
        precondition(x.count == n && x.allSatisfy { $0.count == p }, "design shape")
        let (beta, rank) = LinearAlgebra.leastSquares(x.flatMap { $0 }, rows: n, columns: p, y)
        coefficients = beta
        self.rank = rank
        observations = n
        var rss = 0.0
        for i in 0..<n {
            var fit = 0.0
            for j in 0..<p { fit += x[i][j] * beta[j] }
            rss += (y[i] - fit) * (y[i] - fit)
        }
        residualSumOfSquares = rss
        let mean = y.reduce(0, +) / Double(max(1, n))
        totalSumOfSquares = y.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
    }
}

/// The nested-model F-test of `full` against `reduced` (same response).
public struct FTest: Sendable, Equatable, Codable {
    public var statistic: Double
    public var numeratorDegrees: Int
    public var denominatorDegrees: Int
    public var pValue: Double

    public init(reduced: OLSFit, full: OLSFit) {
        let df1 = full.rank - reduced.rank, df2 = full.observations - full.rank
        numeratorDegrees = df1
        denominatorDegrees = df2
        guard df1 > 0, df2 > 0, full.residualSumOfSquares > 0 else {
            statistic = .nan
            pValue = .nan
            return
        }
        let f = ((reduced.residualSumOfSquares - full.residualSumOfSquares) / Double(df1))
            / (full.residualSumOfSquares / Double(df2))
        statistic = f
        pValue = RegressionStatistics.fDistributionUpperTail(f, df1: Double(df1), df2: Double(df2))
    }
}

public enum RegressionStatistics {
    /// P(F > f) for F(d1, d2) = I_{d2/(d2 + d1 f)}(d2/2, d1/2).
    public static func fDistributionUpperTail(_ f: Double, df1: Double, df2: Double) -> Double {
        guard f > 0 else { return 1 }
        return regularizedIncompleteBeta(df2 / (df2 + df1 * f), a: df2 / 2, b: df1 / 2)
    }

    /// I_x(a, b) by Lentz's continued fraction (Numerical Recipes §6.4).
    public static func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let gammas: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let logFront: Double = gammas + a * Foundation.log(x) + b * Foundation.log(1 - x)
        if x > (a + 1) / (a + b + 2) {
            return 1 - regularizedIncompleteBeta(1 - x, a: b, b: a)
        }
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...300 {
            let m = Double(m)
            var num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + num * d
            if abs(d) < tiny { d = tiny }
            c = 1 + num / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + num * d
            if abs(d) < tiny { d = tiny }
            c = 1 + num / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-14 { break }
        }
        return Foundation.exp(logFront) * h / a
    }
}

/// One observation of the Hase et al. analysis: a fact edited at a layer.
public struct HaseObservation: Sendable, Equatable, Codable {
    public var fact: Int
    public var layer: Int
    /// Normalised tracing effect of the fact at this layer.
    public var tracingEffect: Double
    /// Edit success at this layer (e.g. the rewrite score).
    public var editSuccess: Double

    public init(fact: Int, layer: Int, tracingEffect: Double, editSuccess: Double) {
        self.fact = fact
        self.layer = layer
        self.tracingEffect = tracingEffect
        self.editSuccess = editSuccess
    }
}

/// Hase et al. (2023) §: regressions of edit success on (a) layer as a factor, (b) tracing
/// effect, (c) both with their interaction; R² of each, the gain of (c) over (a), and the
/// F-test of (c) against (a).
public struct HaseAnalysis: Sendable, Equatable, Codable {
    public var layerOnly: OLSFit
    public var tracingOnly: OLSFit
    public var both: OLSFit
    public var gain: Double
    public var fTest: FTest

    public init(_ observations: [HaseObservation]) {
        let layers = Array(Set(observations.map(\.layer))).sorted()
        let y = observations.map(\.editSuccess)
        func dummies(_ o: HaseObservation) -> [Double] {
            layers.dropFirst().map { o.layer == $0 ? 1 : 0 }
        }
        let a = observations.map { [1] + dummies($0) }
        let b = observations.map { [1, $0.tracingEffect] }
        let c = observations.map { o in
            [1] + dummies(o) + [o.tracingEffect] + dummies(o).map { $0 * o.tracingEffect }
        }
        layerOnly = OLSFit(design: a, response: y)
        tracingOnly = OLSFit(design: b, response: y)
        both = OLSFit(design: c, response: y)
        gain = both.rSquared - layerOnly.rSquared
        fTest = FTest(reduced: layerOnly, full: both)
    }
}

/// Reber's localization-hypothesis test per layer: does a ROME edit at (layer, last subject
/// token) flip the label, and does patching the activation there from the interchange run
/// flip it too?
public struct AgreementRow: Sendable, Equatable, Codable {
    public var layer: Int
    public var count: Int
    public var editFlips: Int
    public var patchFlips: Int
    public var bothFlip: Int
    public var neitherFlips: Int
    public var agreement: Double { count == 0 ? .nan : Double(bothFlip + neitherFlips) / Double(count) }

    /// Rows per layer (sorted) from (layer, editFlipped, patchFlipped) triples.
    public static func table(_ outcomes: [(layer: Int, edit: Bool, patch: Bool)]) -> [AgreementRow] {
        Dictionary(grouping: outcomes, by: \.layer).keys.sorted().map { l in
            let rows = outcomes.filter { $0.layer == l }
            return AgreementRow(
                layer: l, count: rows.count, editFlips: rows.filter(\.edit).count,
                patchFlips: rows.filter(\.patch).count,
                bothFlip: rows.filter { $0.edit && $0.patch }.count,
                neitherFlips: rows.filter { !$0.edit && !$0.patch }.count)
        }
    }
}

/// One fact's results in the Hase et al. analysis, before filtering.
public struct HaseFact: Sendable, Equatable, Codable {
    public var id: String
    /// Hase's `is_correct`: the cleaned true object occurs in the model's greedy continuation.
    public var correct: Bool
    /// p(true object) on the prompt (the whole " object" string).
    public var trueProbability: Double
    public var layers: [Int]
    /// Hase's tracing effect per layer (`TraceResult.haseLayerEffects`, floored at 0).
    public var tracingEffect: [Double]
    /// Edit success per layer (e.g. the floored rewrite score).
    public var editSuccess: [Double]

    public init(
        id: String, correct: Bool, trueProbability: Double, layers: [Int], tracingEffect: [Double],
        editSuccess: [Double]
    ) {
        self.id = id
        self.correct = correct
        self.trueProbability = trueProbability
        self.layers = layers
        self.tracingEffect = tracingEffect
        self.editSuccess = editSuccess
    }

    /// Hase's correctness rule (google/belief-localization `third_party/util/fewshot_utils.py`
    /// `fewshot_accuracy_sum` L156–197 with `str_clean` L139–143, called from
    /// `third_party/experiments/tracing.py` L344–361 on a 36-token greedy generation, L580):
    /// both strings stripped and lower-cased; correct if the generation equals the label or
    /// contains it.
    public static func isCorrect(generation: String, label: String) -> Bool {
        let g = generation.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let l = label.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        return g == l || (!l.isEmpty && g.contains(l))
    }
}

/// Which facts enter Hase et al.'s regressions.
public struct HaseFilter: Sendable, Equatable, Codable {
    /// The notebook's `filter(is_correct >= correctness_filter)` with `correctness_filter = 1`
    /// (`third_party/data-analysis.ipynb` L1029, L1054).
    public var requireCorrect: Bool
    /// The tracing sweep's `min_pred_prob=.02` (`third_party/experiments/tracing.py` L613,
    /// L397–400: facts whose clean p(true object) is below it are never traced).
    public var minTrueProbability: Double

    public init(requireCorrect: Bool = true, minTrueProbability: Double = 0.02) {
        self.requireCorrect = requireCorrect
        self.minTrueProbability = minTrueProbability
    }

    /// Everything (Locus before issue 11).
    public static let none = HaseFilter(requireCorrect: false, minTrueProbability: 0)

    public func admits(_ fact: HaseFact) -> Bool {
        (!requireCorrect || fact.correct) && fact.trueProbability >= minTrueProbability
    }

    /// The observations of the admitted facts (one per fact and layer), fact indices in order.
    public func observations(_ facts: [HaseFact]) -> [HaseObservation] {
        var result: [HaseObservation] = []
        for (f, fact) in facts.enumerated() where admits(fact) {
            for (j, l) in fact.layers.enumerated() where j < fact.tracingEffect.count && j < fact.editSuccess.count {
                result.append(
                    HaseObservation(
                        fact: f, layer: l, tracingEffect: fact.tracingEffect[j], editSuccess: fact.editSuccess[j]))
            }
        }
        return result
    }
}
