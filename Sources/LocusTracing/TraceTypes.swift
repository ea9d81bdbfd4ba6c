import LocusModel

/// What a trace restores: single hidden states, or windows of MLP or attention outputs.
public enum TraceKind: String, Codable, Sendable, CaseIterable {
    /// The residual stream at one (token, layer): `.residualPost(layer:)` by default (the output
    /// of block l, as in ROME's `transformer.h.{l}`), or `.residualPre(layer:)`.
    case hidden
    /// MLP outputs `.mlpOut` at one token over a window of layers centred on l.
    case mlp
    /// Attention outputs `.attentionOut` at one token over a window of layers centred on l.
    case attention
}

/// How the corrupted run differs from the clean one.
public enum Corruption: Sendable, Equatable {
    /// Gaussian noise N(0, scale²) added to the subject tokens' embeddings, `samples` draws from
    /// `SeededGenerator(seed:)` (sample-major, then position, then channel).
    case noise(scale: Float, samples: Int, seed: UInt64)
    /// Interchange: the corrupted run reads another prompt of the same token length (same
    /// template, a different subject), so restoring moves the clean run's information into it.
    case interchange(tokens: [Int])
}

/// The prompt and answer to trace.
public struct TraceRequest: Sendable, Equatable {
    /// The clean prompt's tokens (no BOS is added).
    public var tokens: [Int]
    /// Token positions of the subject.
    public var subject: Range<Int>
    /// The answer token o (first token of the expected answer).
    public var answer: Int
    /// A competing answer o′ (the counterfactual prompt's answer); enables logit differences.
    public var alternative: Int?
    /// The answer's tokens after `answer` (`TraceAnswerScore.wholeAnswer`); empty = score
    /// p(`answer`) alone. When non-empty every run is continued with them (never restored or
    /// noised: restorations stay at prompt positions) and its score is p(whole answer) =
    /// p(answer | prompt) · Π_k p(continuation[k] | prompt, answer, continuation[..<k]).
    public var continuation: [Int]

    public init(
        tokens: [Int], subject: Range<Int>, answer: Int, alternative: Int? = nil,
        continuation: [Int] = []
    ) {
        self.tokens = tokens
        self.subject = subject
        self.answer = answer
        self.alternative = alternative
        self.continuation = continuation
    }
}

/// Which probability of the answer a trace scores.
public enum TraceAnswerScore: String, Codable, Sendable, CaseIterable {
    /// p(the answer's first token) at the prompt's last position (ROME's `causal_trace.py`
    /// L314–319 traces one predicted token; Locus's default for given answers too).
    case firstToken = "first-token"
    /// p(the whole " answer" string): google/belief-localization scores the target sequence
    /// under every restoration (`third_party/experiments/causal_trace.py` L289–299
    /// `trace_with_patch` → `score_from_batch`, `third_party/util/fewshot_utils.py` L65–86:
    /// exp of the summed log-probs of the target tokens appended to the prompt by
    /// `make_inputs`, L662–694; restorations only over the prompt tokens, L309–331).
    case wholeAnswer = "whole-answer"
}

/// Settings of one trace.
public struct TraceConfiguration: Sendable, Equatable {
    public var kinds: [TraceKind]
    /// Layers restored (columns of the grids); `nil` = every layer.
    public var layers: [Int]?
    /// Window W of MLP/attention restorations: layers max(0, l − W/2) ..< min(L, l + W − W/2).
    public var window: Int
    /// Restore `.residualPre` instead of `.residualPost` for the hidden kind.
    public var hiddenBeforeBlock: Bool
    /// Sequences per forward call (each restoration of each sample is one packed sequence).
    public var batchSequences: Int

    public init(
        kinds: [TraceKind] = TraceKind.allCases, layers: [Int]? = nil, window: Int = 10,
        hiddenBeforeBlock: Bool = false, batchSequences: Int = 160
    ) {
        self.kinds = kinds
        self.layers = layers
        self.window = window
        self.hiddenBeforeBlock = hiddenBeforeBlock
        self.batchSequences = batchSequences
    }

    /// The sites restored for `kind` at grid column layer `l` of a model with `layerCount` layers.
    public func sites(kind: TraceKind, layer l: Int, layerCount: Int) -> [ActivationSite] {
        switch kind {
        case .hidden: return [hiddenBeforeBlock ? .residualPre(layer: l) : .residualPost(layer: l)]
        case .mlp, .attention:
            let low = max(0, l - window / 2), high = min(layerCount, l + window - window / 2)
            return (low..<high).map { kind == .mlp ? .mlpOut(layer: $0) : .attentionOut(layer: $0) }
        }
    }
}

/// Scores of one run: p(o) at the last position, and logit(o) − logit(o′) when o′ is given.
/// For noise corruption both are means over the samples.
public struct TraceScore: Sendable, Equatable, Codable {
    public var probability: Double
    public var logitDifference: Double?

    public init(probability: Double, logitDifference: Double?) {
        self.probability = probability
        self.logitDifference = logitDifference
    }
}

/// Which score a grid or effect is read in.
public enum TraceMetric: String, Codable, Sendable {
    case probability
    case logitDifference = "logit-difference"
}

/// One T × L grid: scores after restoring at (token t, layer column l).
public struct TraceGrid: Sendable, Equatable, Codable {
    public var kind: TraceKind
    public var window: Int
    public var layers: [Int]
    /// probability[t][j]: mean p(o) restoring at token t and layer `layers[j]`.
    public var probability: [[Double]]
    /// logitDifference[t][j]: mean logit(o) − logit(o′), when o′ was given.
    public var logitDifference: [[Double]]?

    public func values(_ metric: TraceMetric) -> [[Double]]? {
        metric == .probability ? probability : logitDifference
    }
}

/// A whole causal trace of one prompt.
public struct TraceResult: Sendable, Equatable, Codable {
    public var tokens: [Int]
    public var subjectStart: Int
    public var subjectEnd: Int
    public var answer: Int
    public var alternative: Int?
    public var clean: TraceScore
    public var corrupt: TraceScore
    public var grids: [TraceGrid]
    /// Noise scale used (nil for interchange), samples and seed.
    public var noiseScale: Float?
    public var samples: Int
    public var seed: UInt64?
    /// The answer's tokens after `answer` that every score included (`TraceRequest
    /// .continuation`); nil or empty = p(first token) only.
    /// (A one-token answer scores the same under either `TraceAnswerScore`.)
    public var continuation: [Int]? = nil

    public var subject: Range<Int> { subjectStart..<subjectEnd }

    public func grid(_ kind: TraceKind) -> TraceGrid? { grids.first { $0.kind == kind } }

    /// Hase et al.'s normalised effect (x − corrupt)/(clean − corrupt) of every cell.
    public func normalized(_ kind: TraceKind, metric: TraceMetric = .probability) -> [[Double]]? {
        guard let values = grid(kind)?.values(metric) else { return nil }
        let low: Double?, high: Double?
        switch metric {
        case .probability: (low, high) = (corrupt.probability, clean.probability)
        case .logitDifference: (low, high) = (corrupt.logitDifference, clean.logitDifference)
        }
        guard let low, let high else { return nil }
        return values.map { row in row.map { TraceMath.normalized($0, corrupt: low, clean: high) } }
    }

    /// Per grid column: the normalised effect maximised over tokens (METHODS.md §6).
    public func layerEffects(_ kind: TraceKind, metric: TraceMetric = .probability) -> [Double]? {
        guard let grid = normalized(kind, metric: metric), let first = grid.first else { return nil }
        return first.indices.map { j in grid.map { $0[j] }.max()! }
    }

    /// Hase et al.'s tracing effect per grid column ("max_fraction_restored"): the maximum over
    /// tokens of max(0, (p − p_corrupt) / |p_corrupt − p_high|), with p_high = max(p_clean, the
    /// grid's largest restored p). google/belief-localization: `third_party/experiments/
    /// causal_trace.py` L411 (`high_score=max(base_score, differences.max())`, recorded as
    /// `orig_pred_prob`, `tracing.py` L268); `third_party/data-analysis.ipynb` L115
    /// (`fraction_restored = pmax(0, restore_effect / abs(corruption_effect))`) and L731
    /// (`max_fraction_restored=max(fraction_restored)` per case and layer). Tokens before the
    /// subject hold p_corrupt (`tracing.py` L255), so they contribute 0. Probability only.
    public func haseLayerEffects(_ kind: TraceKind) -> [Double]? {
        guard let grid = grid(kind), let first = grid.probability.first else { return nil }
        let low = corrupt.probability
        let high = max(clean.probability, grid.probability.flatMap { $0 }.max() ?? clean.probability)
        return first.indices.map { j in
            grid.probability.map { TraceMath.fractionRestored($0[j], corrupt: low, high: high) }.max()!
        }
    }

    /// Per grid column: the normalised effect at the last subject token.
    public func lastSubjectTokenEffects(
        _ kind: TraceKind, metric: TraceMetric = .probability
    ) -> [Double]? {
        normalized(kind, metric: metric)?[subjectEnd - 1]
    }
}

public enum TraceMath {
    /// Hase et al.'s `fraction_restored`: max(0, (x − corrupt)/|corrupt − high|); 0 when
    /// corrupt = high (R's division would give NaN/Inf there; such facts carry no effect).
    public static func fractionRestored(_ x: Double, corrupt: Double, high: Double) -> Double {
        let span = abs(corrupt - high)
        return span == 0 ? 0 : max(0, (x - corrupt) / span)
    }

    /// (x − corrupt)/(clean − corrupt); 0 when clean and corrupt coincide.
    public static func normalized(_ x: Double, corrupt: Double, clean: Double) -> Double {
        let span = clean - corrupt
        return span == 0 ? 0 : (x - corrupt) / span
    }
}
