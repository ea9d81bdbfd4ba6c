import LocusModel
import LocusTensor

/// Settings of a scrubbing run (recorded with every result).
public struct ScrubSettings: Sendable, Equatable {
    /// Levels of the treeified model built explicitly (≥ 1). See `CausalScrubber`.
    public var depth: Int = 1
    /// Random inputs drawn per run for the unimportant components; each unimportant component
    /// reads one of them (assigned at random). Redwood's algorithm draws one per component.
    public var randomSources: Int = 1
    public var alignment: PositionAlignment = .start
    public var seed: UInt64 = 0
    /// Independent scrub draws per item (their scores are averaged).
    public var draws: Int = 1
    public var tokensPerCall: Int = 1024

    public init() {}
}

/// Causal scrubbing (Redwood Research) of component-level hypotheses, by resampling in packed
/// forward calls.
///
/// Scrubbed run of item x at depth d, `run(x, d, except: e)`: the model runs on x; for every
/// component c of `Component.all` (plus the hypothesis's residual nodes) that is upstream-relevant
/// and not `e`, c's output (a head's z columns, an MLP's output, the embeddings, a residual row)
/// is replaced by:
/// - c unimportant: c's value in a *clean* run on a random input r (in the treeified model the
///   whole subtree of an unimportant node sees r, so this is exact);
/// - c important with feature `input`: nothing replaced; c is computed in place from the run's
///   own, already scrubbed, inputs (exact at any depth: its inputs are scrubbed relative to x);
/// - c important with another feature f: c's value in a run on x_c, an input drawn with
///   f(x_c) = f(x): if d > 1 that run is `run(x_c, d − 1, except: c)` (c's own inputs are scrubbed
///   relative to x_c, recursively); at d = 1 it is a clean run on x_c.
///
/// What is approximated (besides the finite depth):
/// 1. At the last level (d = 1) an important component with a feature other than `input`/
///    `nothing`-free recursion reads a clean run on its agreeing input: its own upstream
///    components are not scrubbed there (unimportant ones keep x_c's values).
/// 2. Within one run all readers share the same replacement of a component; the treeified model
///    would draw a separate input for each path (e.g. for the q, k and v of every later head).
/// 3. With `randomSources` = R the unimportant components share R random inputs per run.
/// Inputs of different lengths are aligned by `settings.alignment`.
/// With the empty hypothesis and R = 1 every component comes from one random input r, so the
/// scrubbed logits are exactly the model's logits on r (scored against x's tokens).
public struct CausalScrubber {
    public let model: DecoderModel
    public let items: [ScrubItem]
    public let settings: ScrubSettings

    public init(model: DecoderModel, items: [ScrubItem], settings: ScrubSettings) {
        self.model = model
        self.items = items
        self.settings = settings
    }

    /// The unchanged model's score of each item.
    public func modelScores(progress: ((Int, Int) -> Void)? = nil) throws -> [Double] {
        let units = items.indices.map { i -> RunUnit in
            var unit = RunUnit(item: i)
            unit.targets = items[i].sequences.map { unit.append($0) }
            return unit
        }
        return try executor.score(units, items: items, progress: progress)
    }

    /// The scrubbed score of each item (mean over `settings.draws`).
    public func scores(_ hypothesis: Hypothesis, progress: ((Int, Int) -> Void)? = nil) throws -> [Double] {
        var units: [RunUnit] = []
        for i in items.indices {
            for draw in 0..<settings.draws {
                var g = SeededGenerator(seed: mix(settings.seed, UInt64(i), UInt64(draw)))
                var unit = RunUnit(item: i)
                for k in items[i].sequences.indices {
                    unit.targets.append(
                        build(&unit, item: i, sequence: k, depth: settings.depth, except: nil,
                              hypothesis: hypothesis, generator: &g))
                }
                units.append(unit)
            }
        }
        let raw = try executor.score(units, items: items, progress: progress)
        return items.indices.map { i in
            let d = settings.draws
            return raw[(i * d)..<((i + 1) * d)].reduce(0, +) / Double(d)
        }
    }

    var executor: BatchExecutor {
        BatchExecutor(model: model, alignment: settings.alignment, tokensPerCall: settings.tokensPerCall)
    }

    func nodes(_ hypothesis: Hypothesis) -> [Component] {
        let base = Component.all(in: model.config)
        let extra = hypothesis.order.filter { if case .residual = $0 { return true } else { return false } }
        return base + extra
    }

    /// Adds `run(item, depth, except)` (and the runs it reads) to the unit; returns its index.
    func build(
        _ unit: inout RunUnit, item x: Int, sequence k: Int, depth: Int, except: Component?,
        hypothesis: Hypothesis, generator g: inout SeededGenerator
    ) -> Int {
        let index = unit.append(items[x].sequences[k])
        let config = model.config
        let r = max(1, settings.randomSources)
        let randoms: [Int] = (0..<r).map { _ in
            let (item, variant) = randomInput(excluding: x, &g)
            return unit.append(items[item].sequences[variant])
        }
        var edits: [AblationEdit] = []
        for c in nodes(hypothesis) {
            if let e = except, c == e || c.stage >= e.stage { continue }
            let source: Int
            if let feature = hypothesis.important[c] {
                if feature == .input { continue }
                let xc = agreeing(x, on: feature, &g)
                let kc = min(k, items[xc].sequences.count - 1)
                if depth > 1 {
                    source = build(
                        &unit, item: xc, sequence: kc, depth: depth - 1, except: c,
                        hypothesis: hypothesis, generator: &g)
                } else {
                    source = unit.append(items[xc].sequences[kc])
                }
            } else {
                source = randoms[r == 1 ? 0 : Int(g.next() % UInt64(r))]
            }
            edits.append(AblationEdit(slice: c.slice(config: config), operation: .resample(sourceSequence: source)))
        }
        unit.edits[index] = edits
        return index
    }

    /// A uniformly drawn other item (any of its sequences).
    func randomInput(excluding x: Int, _ g: inout SeededGenerator) -> (Int, Int) {
        var j = x
        if items.count > 1 {
            j = Int(g.next() % UInt64(items.count - 1))
            if j >= x { j += 1 }
        }
        return (j, Int(g.next() % UInt64(items[j].sequences.count)))
    }

    /// An item agreeing with x on `feature` (another one when there is one).
    func agreeing(_ x: Int, on feature: Feature, _ g: inout SeededGenerator) -> Int {
        if feature == .nothing { return Int(g.next() % UInt64(items.count)) }
        let value = feature.value(of: items[x])
        let candidates = items.indices.filter { $0 != x && feature.value(of: items[$0]) == value }
        return candidates.isEmpty ? x : candidates[Int(g.next() % UInt64(candidates.count))]
    }
}

/// A seed for (seed, a, b), so draws do not depend on batching.
func mix(_ seed: UInt64, _ a: UInt64, _ b: UInt64) -> UInt64 {
    var z = seed &+ 0x9E37_79B9_7F4A_7C15 &* (a &+ 1) &+ 0xBF58_476D_1CE4_E5B9 &* (b &+ 1)
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
