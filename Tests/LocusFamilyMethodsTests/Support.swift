import Foundation
import LocusCore
import LocusModel
import LocusTensor
import LocusTestSupport
import LocusWeights
import XCTest

/// The parity fixtures of `scripts/reference/make_family_fixtures.py` (random weights made by
/// transformers: 2 layers, width 64, 4 heads, vocabulary 274, 32 positions) that the methods
/// run on. GPT-2: LayerNorm, learned positions, Conv1D weights stored (in, out) and transposed
/// at load, biases on every projection (o_proj's too). GPT-J: a parallel block (no resid_mid),
/// partial interleaved RoPE, no o_proj bias, an lm_head bias.
enum FamilyFixture: String, CaseIterable {
    case gpt2, gptj

    /// Every family fixture, for the checks that cost little (path patching, the bias bake).
    static let allFamilies = ["llama", "qwen2", "gpt2", "gptj", "gemma3"]

    static func url(_ family: String) -> URL {
        TestEnvironment.packageRoot.appendingPathComponent(
            "Tests/LocusModelTests/Fixtures/families/\(family)", isDirectory: true)
    }

    var url: URL { Self.url(rawValue) }

    /// A fresh load (tests edit weights in place), one BLAS thread.
    func languageModel() throws -> LanguageModel {
        BLAS.setThreadCount(1)
        return try LanguageModel.load(from: url)
    }

    static func model(_ family: String) throws -> DecoderModel {
        BLAS.setThreadCount(1)
        return try DecoderModel.load(from: url(family))
    }
}

/// Every weight of a model as bits, optional members included (biases, norms, an o_proj bias
/// an edit created), so "undo is exact" compares the whole model, not one matrix.
struct WeightSnapshot: Equatable {
    var buffers: [String: [UInt32]]

    init(_ model: DecoderModel) {
        let w = model.weights
        func bits(_ b: FloatBuffer?, _ count: Int) -> [UInt32]? {
            b.map { $0.array(count: count).map(\.bitPattern) }
        }
        func matrix(_ m: WeightMatrix) -> [UInt32] {
            m.materializeFloat32().array(count: m.rows * m.columns).map(\.bitPattern)
        }
        let c = model.config.hiddenSize
        var all: [String: [UInt32]] = [
            "embedding": matrix(w.embeddingMatrix), "unembedding": matrix(w.unembeddingMatrix),
            "finalNorm": bits(w.finalNorm, c)!,
        ]
        all["finalNormBias"] = bits(w.finalNormBias, c)
        all["unembeddingBias"] = bits(w.unembeddingBias, model.config.vocabularySize)
        all["positionEmbedding"] = bits(w.positionEmbedding, w.positionEmbedding?.count ?? 0)
        for (l, layer) in w.layers.enumerated() {
            let vectors: [(String, FloatBuffer?)] = [
                ("attentionNorm", layer.attentionNorm), ("attentionNormBias", layer.attentionNormBias),
                ("qkvBias", layer.qkvBias), ("queryNorm", layer.queryNorm), ("keyNorm", layer.keyNorm),
                ("outputBias", layer.outputBias), ("postAttentionNorm", layer.postAttentionNorm),
                ("mlpNorm", layer.mlpNorm), ("mlpNormBias", layer.mlpNormBias),
                ("gateUpBias", layer.gateUpBias), ("downBias", layer.downBias),
                ("postMLPNorm", layer.postMLPNorm),
            ]
            for (name, buffer) in vectors { all["\(l).\(name)"] = bits(buffer, buffer?.count ?? 0) }
            for (name, m) in [
                ("qkv", layer.qkvMatrix), ("output", layer.outputMatrix), ("gateUp", layer.gateUpMatrix),
                ("down", layer.downMatrix),
            ] {
                all["\(l).\(name)"] = matrix(m)
            }
        }
        buffers = all
    }

    /// The names of the buffers that differ (present in one only, or any bit changed).
    func differences(from other: WeightSnapshot) -> [String] {
        Set(buffers.keys).union(other.buffers.keys).filter { buffers[$0] != other.buffers[$0] }.sorted()
    }
}

/// Seeded token ids in 3..<250 (inside the fixtures' 274-token vocabulary).
func seededTokens(count: Int, length: Int, seed: UInt64) -> [[Int]] {
    var g = SeededGenerator(seed: seed)
    return (0..<count).map { _ in (0..<length).map { _ in 3 + Int(g.next() % 247) } }
}

/// p(token) at the last position of a one-sequence forward.
func lastProbability(
    _ model: DecoderModel, _ tokens: [Int], hooks: [ActivationHook] = [], token: Int
) throws -> Double {
    let logits = try model.forward([tokens], hooks: hooks, logits: .last)
    let row = logits.last(sequence: 0)
    let lse = LogSoftmax.logSumExp(row.baseAddress!, count: row.count)
    return Foundation.exp(Double(row[token] - lse))
}

func allFinite(_ values: some Sequence<Float>) -> Bool { values.allSatisfy(\.isFinite) }
func allFinite(_ values: some Sequence<Double>) -> Bool { values.allSatisfy(\.isFinite) }
