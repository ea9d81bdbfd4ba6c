import LocusCore
import LocusInterventions
import LocusModel
import LocusScrubbing
import XCTest

final class AblationTests: XCTestCase {
    /// Zeroing every attention and MLP output leaves the embeddings in the residual stream:
    /// logits = unembed(RMSNorm(embedding)), computed by hand.
    func testZeroAblationOfEveryBlockLeavesTheEmbeddings() throws {
        let model = try TestSupport.tiny()
        let config = model.config
        let tokens = [5, 17, 99, 3]
        let slices = (0..<config.layerCount).flatMap {
            [ComponentSlice(site: .attentionOut(layer: $0)), ComponentSlice(site: .mlpOut(layer: $0))]
        }
        let hook = AblationHook(slices.map { AblationEdit(slice: $0, operation: .zero) }, sequenceCount: 1)
        let logits = try model.forward([tokens], hooks: [hook], logits: .all)
        let c = config.hiddenSize
        for (p, id) in tokens.enumerated() {
            let e = model.weights.embedding.array(count: c, from: id * c)
            let r = 1 / (e.map { $0 * $0 }.reduce(0, +) / Float(c) + config.rmsNormEpsilon).squareRoot()
            let normed = (0..<c).map { model.weights.finalNorm[$0] * (e[$0] * r) }
            let row = logits.row(sequence: 0, position: p)
            for v in [0, 7, 100, config.vocabularySize - 1] {
                let w = model.weights.unembedding.array(count: c, from: v * c)
                let expected = zip(w, normed).map(*).reduce(0, +)
                XCTAssertEqual(row[v], expected, accuracy: 1e-4)
            }
        }
    }

    /// Zero ablation of one head's columns at chosen positions touches exactly those entries.
    func testZeroAblationOfOneHeadAtPositions() throws {
        let model = try TestSupport.tiny()
        let config = model.config
        let head = ComponentSlice.head(AttentionHead(layer: 1, head: 2), config: config)
        var slice = head
        slice.positions = [1, -1]
        let ablate = AblationHook([AblationEdit(slice: slice, operation: .zero)], sequenceCount: 2)
        let site = ActivationSite.headOutput(layer: 1)
        let clean = ActivationRecorder(sites: [site])
        let after = ActivationRecorder(sites: [site])
        let inputs = TestSupport.tokens(count: 2, length: 6, seed: 1)
        _ = try model.forward(inputs, hooks: [clean], logits: .none)
        _ = try model.forward(inputs, hooks: [ablate, after], logits: .none)
        let w = config.attentionWidth
        for s in 0..<2 {
            let a = clean.recorded[site]![s], b = after.recorded[site]![s]
            for p in 0..<6 {
                for col in 0..<w {
                    let zeroed = head.columns!.contains(col) && (p == 1 || p == 5)
                    XCTAssertEqual(b[p * w + col], zeroed ? 0 : a[p * w + col])
                }
            }
        }
    }

    /// The mean is the average of recorded rows; mean ablation writes it; the cache returns it.
    func testMeanActivationsAndCache() throws {
        let model = try TestSupport.tiny()
        let site = ActivationSite.mlpOut(layer: 0)
        let inputs = TestSupport.tokens(count: 3, length: 5, seed: 2) + [[4, 8]]
        let recorder = ActivationRecorder(sites: [site])
        _ = try model.forward(inputs, hooks: [recorder], logits: .none)
        let rows = recorder.recorded[site]!.flatMap { $0 }
        let c = model.config.hiddenSize
        let n = rows.count / c
        let expected = (0..<c).map { j in (0..<n).map { rows[$0 * c + j] }.reduce(0, +) / Float(n) }
        let mean = try MeanActivations.compute(model: model, site: site, inputs: inputs, tokensPerCall: 7)
        for j in 0..<c { XCTAssertEqual(mean[j], expected[j], accuracy: 1e-5) }

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("locus-mean-\(UUID())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try MeanActivations.cached(model: model, modelSHA256: "abc", site: site, inputs: inputs, directory: dir)
        let second = try MeanActivations.cached(model: model, modelSHA256: "abc", site: site, inputs: inputs, directory: dir)
        let other = try MeanActivations.cached(model: model, modelSHA256: "abd", site: site, inputs: inputs, directory: dir)
        XCTAssertFalse(first.fromCache)
        XCTAssertTrue(second.fromCache)
        XCTAssertFalse(other.fromCache)
        XCTAssertEqual(first.mean, second.mean)

        let hook = AblationHook(
            [AblationEdit(slice: ComponentSlice(site: site, positions: [0]), operation: .constant(mean))],
            sequenceCount: 1)
        let after = ActivationRecorder(sites: [site])
        _ = try model.forward([inputs[0]], hooks: [hook, after], logits: .none)
        XCTAssertEqual(Array(after.recorded[site]![0][0..<c]), mean)
    }

    /// Resampling from a sequence packed in the same call equals patching with the source's
    /// recorded activation, for both alignments of inputs of different lengths.
    func testResampleAblationMatchesActivationPatching() throws {
        let model = try TestSupport.tiny()
        let config = model.config
        let target = TestSupport.tokens(count: 1, length: 7, seed: 3)[0]
        let source = TestSupport.tokens(count: 1, length: 4, seed: 4)[0]
        let site = ActivationSite.headOutput(layer: 0)
        let slice = ComponentSlice.head(AttentionHead(layer: 0, head: 1), config: config)
        let recorder = ActivationRecorder(sites: [site])
        _ = try model.forward([target, source], hooks: [recorder], logits: .none)
        let w = config.attentionWidth
        for alignment in PositionAlignment.allCases {
            var rows = recorder.recorded[site]![0]
            let src = recorder.recorded[site]![1]
            for p in 0..<7 {
                let q = alignment == .start ? min(p, 3) : max(p - 3, 0)
                for col in slice.columns! { rows[p * w + col] = src[q * w + col] }
            }
            let patched = try model.forward(
                [target], hooks: [ActivationReplacement(site: site, positions: .all, replacement: [rows])],
                logits: .all
            ).row(sequence: 0, position: 6).map { $0 }
            let hook = AblationHook(
                edits: [[AblationEdit(slice: slice, operation: .resample(sourceSequence: 1))], []],
                alignment: alignment)
            let resampled = try model.forward([target, source], hooks: [hook], logits: .all)
            let row = resampled.row(sequence: 0, position: 6)
            for v in 0..<config.vocabularySize { XCTAssertEqual(row[v], patched[v], accuracy: 1e-5) }
        }
    }

    /// A scan packs many ablated runs; each equals the same ablation run alone.
    func testScanEqualsSingleRuns() throws {
        let model = try TestSupport.tiny()
        let items = TestSupport.tokens(count: 3, length: 8, seed: 5).map {
            ScrubItem(sequences: [$0], metric: [MetricTerm(sequence: 0, targets: 1..<8, weight: -1.0 / 7)])
        }
        var scan = AblationScan(model: model, items: items)
        scan.seed = 9
        scan.tokensPerCall = 20
        let heads = AttentionHead.all(in: model.config).map { [ComponentSlice.head($0, config: model.config)] }
        let scores = try scan.scores(groups: [[]] + heads, kind: .resample)
        for (g, group) in ([[]] + heads).enumerated() {
            for i in items.indices {
                let (j, _) = scan.source(of: i)
                let hook = AblationHook(
                    edits: [group.map { AblationEdit(slice: $0, operation: .resample(sourceSequence: 1)) }, []])
                let logits = try model.forward(
                    [items[i].sequences[0], items[j].sequences[0]], hooks: [hook], logits: .all)
                let expected = items[i].score { _, t in
                    logits.logProbability(of: items[i].sequences[0][t], sequence: 0, position: t - 1)
                }
                XCTAssertEqual(scores[g][i], expected, accuracy: 1e-4)
            }
        }
        XCTAssertNotEqual(scores[1], scores[0])
    }
}
