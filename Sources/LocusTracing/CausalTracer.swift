import Foundation
import LocusInterventions
import LocusModel
import LocusTensor

/// Causal tracing (Meng et al. 2022, METHODS.md §6): corrupt the subject, restore one clean
/// state (or a window of MLP/attention outputs) at each (token, layer), and measure how much of
/// the answer comes back.
///
/// Batched: the corrupted prompt is computed once per sample with a KV cache; a restoration at
/// token t changes only positions ≥ t, so each restoration is one packed sequence of tokens
/// t..<T continuing a copy of that sample's cached prefix 0..<t. Tokens before the first
/// corrupted position cannot change anything: their cells equal the corrupted score exactly
/// and are filled without running.
///
/// With `TraceRequest.continuation` (Hase et al.'s whole-answer score) every run is the prompt
/// followed by the answer's tokens after the first, with logits at every position, and a score
/// is the product of the answer tokens' probabilities; restorations stay at prompt positions.
public final class CausalTracer {
    public let model: DecoderModel

    public init(model: DecoderModel) { self.model = model }

    /// The standard deviation of every entry of the embedding matrix (ROME's noise unit), times
    /// the family's embedding scale where it has one (Gemma: √C): the noise is added to
    /// `.residualPre(layer: 0)`, i.e. to the embeddings as the blocks see them, as ROME adds it
    /// to the embedding module's output (kmeng01/rome `experiments/causal_trace.py`).
    public static func embeddingStandardDeviation(_ model: DecoderModel) -> Float {
        let scale = abs(model.config.architecture.embeddingScale ?? 1)
        // Read in row panels: the embedding stays in its stored type.
        let matrix = model.weights.embeddingMatrix
        let n = model.config.vocabularySize * model.config.hiddenSize
        let c = model.config.hiddenSize, panel = 1024
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: panel * c)
        defer { rows.deallocate() }
        var sum = 0.0, sumSquares = 0.0
        for start in stride(from: 0, to: matrix.rows, by: panel) {
            let count = min(panel, matrix.rows - start)
            matrix.readRows(start..<start + count, into: rows)
            for i in 0..<count * c {
                let x = Double(rows[i])
                sum += x
                sumSquares += x * x
            }
        }
        let mean = sum / Double(n)
        return scale * Float((sumSquares / Double(n) - mean * mean).squareRoot())
    }

    /// Noise draws: `samples` × (subjectLength, C), N(0, scale²), from one seeded generator.
    public static func noise(
        scale: Float, samples: Int, seed: UInt64, subjectLength: Int, width: Int
    ) -> [[Float]] {
        var g = SeededGenerator(seed: seed)
        return (0..<samples).map { _ in
            (0..<(subjectLength * width)).map { _ in Float(g.nextNormal()) * scale }
        }
    }

    /// Runs the trace. `progress` is called with (done, total) restorations.
    public func trace(
        _ request: TraceRequest, corruption: Corruption, configuration: TraceConfiguration,
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> TraceResult {
        let config = model.config, c = config.hiddenSize
        let tokens = request.tokens, t = tokens.count
        // The answer's later tokens follow the prompt in every run (none: the first-token score).
        let continuation = request.continuation, extra = continuation.count
        let rows: Logits.Rows = extra == 0 ? .last : .all
        precondition(request.subject.lowerBound >= 0 && request.subject.upperBound <= t)
        let layers = configuration.layers ?? Array(0..<config.layerCount)

        // Clean run, recording every site any restoration needs.
        var needed = Set<ActivationSite>()
        for kind in configuration.kinds {
            for l in layers {
                needed.formUnion(configuration.sites(kind: kind, layer: l, layerCount: config.layerCount))
            }
        }
        let recorder = ActivationRecorder(sites: needed, positions: .all)
        let cleanLogits = try model.forward([tokens + continuation], hooks: [recorder], logits: rows)
        let cleanScore = score(cleanLogits, sequence: 0, request)
        var clean: [ActivationSite: [Float]] = [:]
        for site in needed { clean[site] = recorder.recorded[site]![0] }

        // The corrupted inputs.
        let corruptTokens: [Int], noise: [[Float]], samples: Int, firstChanged: Int
        var scale: Float? = nil, seed: UInt64? = nil
        switch corruption {
        case .noise(let s, let n, let sd):
            noise = Self.noise(
                scale: s, samples: n, seed: sd, subjectLength: request.subject.count, width: c)
            corruptTokens = tokens + continuation
            samples = n
            firstChanged = request.subject.lowerBound
            scale = s
            seed = sd
        case .interchange(let other):
            guard other.count == t else {
                throw TraceError("interchange prompt has \(other.count) tokens, the clean one \(t)")
            }
            noise = []
            corruptTokens = other + continuation
            samples = 1
            firstChanged = tokens.indices.first { tokens[$0] != other[$0] } ?? t
        }
        let noiseSample: (Int) -> Int? = { j in noise.isEmpty ? nil : j }

        // Corrupted runs, one KV-cache snapshot per prefix length firstChanged..<t.
        let run = KVCache(config: config, sequences: samples, capacity: t + extra)
        var snapshots: [Int: KVCache] = [:]
        var position = 0
        var corruptLogits: Logits? = nil
        let start = max(firstChanged, 1)
        var chunks: [Range<Int>] = [0..<min(start, t)]
        for p in min(start, t)..<t { chunks.append(p..<(p + 1)) }
        // The last prompt token's chunk carries the continuation too.
        if let last = chunks.indices.last(where: { !chunks[$0].isEmpty }) {
            chunks[last] = chunks[last].lowerBound..<(t + extra)
        }
        for chunk in chunks where !chunk.isEmpty {
            if chunk.lowerBound >= firstChanged {
                let snap = KVCache(
                    config: config, sequences: samples, capacity: max(1, chunk.lowerBound))
                for j in 0..<samples { snap.copyPrefix(from: run, sequence: j, to: j) }
                snapshots[chunk.lowerBound] = snap
            }
            let hook = TraceHook(
                noise: noise, subject: request.subject,
                noiseSample: (0..<samples).map(noiseSample), restorations: [], clean: [:])
            corruptLogits = try model.forward(
                Array(repeating: Array(corruptTokens[chunk]), count: samples), cache: run,
                hooks: [hook], logits: chunk.upperBound > t ? rows : .last)
            position = chunk.upperBound
        }
        precondition(position == t + extra)
        let corruptScore = mean((0..<samples).map { score(corruptLogits!, sequence: $0, request) })

        // Restoration jobs: (kind, token, layer column); cells before firstChanged = corrupt.
        struct Job { var grid: Int; var token: Int; var column: Int }
        var jobs: [Job] = []
        for (g, _) in configuration.kinds.enumerated() {
            for token in firstChanged..<t {
                for column in layers.indices { jobs.append(Job(grid: g, token: token, column: column)) }
            }
        }
        var sums = configuration.kinds.map { _ in
            Array(repeating: Array(repeating: TraceScore(probability: 0, logitDifference: 0),
                count: layers.count), count: t)
        }
        // With the continuation every position gets a logit row: keep a batch's rows near
        // 4 × batchSequences (each row is V floats).
        let sequencesPerBatch =
            extra == 0
            ? configuration.batchSequences
            : max(1, min(configuration.batchSequences, 4 * configuration.batchSequences / (t + extra)))
        let perBatch = max(1, sequencesPerBatch / samples)
        var done = 0
        let cache = KVCache(
            config: config, sequences: min(jobs.count, perBatch) * samples, capacity: t + extra)
        for first in stride(from: 0, to: jobs.count, by: perBatch) {
            let batch = jobs[first..<min(jobs.count, first + perBatch)]
            var inputs: [[Int]] = [], restorations: [[(site: ActivationSite, position: Int)]] = []
            var samplesOf: [Int?] = []
            let cache =
                batch.count * samples == cache.sequenceCount
                ? cache : KVCache(config: config, sequences: batch.count * samples, capacity: t + extra)
            cache.reset()
            for job in batch {
                let sites = configuration.sites(
                    kind: configuration.kinds[job.grid], layer: layers[job.column],
                    layerCount: config.layerCount)
                for j in 0..<samples {
                    let s = inputs.count
                    if job.token > 0 { cache.copyPrefix(from: snapshots[job.token]!, sequence: j, to: s) }
                    inputs.append(Array(corruptTokens[job.token...]))
                    restorations.append(sites.map { ($0, job.token) })
                    samplesOf.append(noiseSample(j))
                }
            }
            let hook = TraceHook(
                noise: noise, subject: request.subject, noiseSample: samplesOf,
                restorations: restorations, clean: clean)
            let logits = try model.forward(inputs, cache: cache, hooks: [hook], logits: rows)
            for (k, job) in batch.enumerated() {
                let scores = (0..<samples).map { score(logits, sequence: k * samples + $0, request) }
                sums[job.grid][job.token][job.column] = mean(scores)
            }
            done += batch.count
            progress?(done, jobs.count)
        }
        for g in sums.indices {
            for token in 0..<firstChanged { sums[g][token] = Array(repeating: corruptScore, count: layers.count) }
        }
        let grids = configuration.kinds.enumerated().map { g, kind in
            TraceGrid(
                kind: kind, window: kind == .hidden ? 1 : configuration.window, layers: layers,
                probability: sums[g].map { $0.map(\.probability) },
                logitDifference: request.alternative == nil
                    ? nil : sums[g].map { $0.map { $0.logitDifference! } })
        }
        return TraceResult(
            tokens: tokens, subjectStart: request.subject.lowerBound,
            subjectEnd: request.subject.upperBound, answer: request.answer,
            alternative: request.alternative, clean: cleanScore, corrupt: corruptScore,
            grids: grids, noiseScale: scale, samples: samples, seed: seed,
            continuation: continuation)
    }

    /// p(answer) at the prompt's last position (times p(continuation) when there is one: the
    /// logits then hold every position and are read at absolute positions T − 1, T, …), and
    /// logit(o) − logit(o′) of the first answer token.
    func score(_ logits: Logits, sequence s: Int, _ request: TraceRequest) -> TraceScore {
        let t = request.tokens.count
        let row =
            request.continuation.isEmpty
            ? logits.last(sequence: s) : logits.row(sequence: s, position: t - 1)
        let lse = LogSoftmax.logSumExp(row.baseAddress!, count: row.count)
        var later = 0.0
        for (k, token) in request.continuation.enumerated() {
            later += Double(logits.logProbability(of: token, sequence: s, position: t + k))
        }
        let p = Foundation.exp(Double(row[request.answer] - lse) + later)
        let diff = request.alternative.map { Double(row[request.answer] - row[$0]) }
        return TraceScore(probability: p, logitDifference: diff)
    }

    func mean(_ scores: [TraceScore]) -> TraceScore {
        let n = Double(scores.count)
        let p = scores.reduce(0) { $0 + $1.probability } / n
        let d: Double? =
            scores.first?.logitDifference == nil
            ? nil : scores.reduce(0) { $0 + $1.logitDifference! } / n
        return TraceScore(probability: p, logitDifference: d)
    }
}

public struct TraceError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
