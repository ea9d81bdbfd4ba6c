import Foundation
import LocusCheckpoint
import LocusTensor

/// One decoder block's parameters, dequantised to `Float`, in (out, in) layout.
///
/// Q, K and V are fused into one matrix and gate and up into another, so each block runs two
/// large GEMMs instead of five small ones (width 576 makes small GEMMs inefficient).
public final class LlamaLayerWeights: @unchecked Sendable {
    public let attentionNorm: FloatBuffer  // (C)
    /// Rows 0..<H·D are W_q, then W_k (G·D rows), then W_v (G·D rows); Q/K rows in the
    /// adjacent-pair RoPE layout.
    public let qkv: FloatBuffer  // (H·D + 2·G·D, C)
    /// o_proj; head h owns input columns h·D..<(h+1)·D.
    public let output: FloatBuffer  // (C, H·D)
    public let mlpNorm: FloatBuffer  // (C)
    public let gateUp: FloatBuffer  // (2F, C): gate rows then up rows
    public let down: FloatBuffer  // (C, F)

    init(
        attentionNorm: FloatBuffer, qkv: FloatBuffer, output: FloatBuffer, mlpNorm: FloatBuffer,
        gateUp: FloatBuffer, down: FloatBuffer
    ) {
        self.attentionNorm = attentionNorm
        self.qkv = qkv
        self.output = output
        self.mlpNorm = mlpNorm
        self.gateUp = gateUp
        self.down = down
    }
}

/// All parameters of a llama model.
public final class LlamaWeights: @unchecked Sendable {
    public let embedding: FloatBuffer  // (V, C)
    public let layers: [LlamaLayerWeights]
    public let finalNorm: FloatBuffer  // (C)
    /// The unembedding; the same buffer as `embedding` when tied.
    public let unembedding: FloatBuffer  // (V, C)

    init(
        embedding: FloatBuffer, layers: [LlamaLayerWeights], finalNorm: FloatBuffer,
        unembedding: FloatBuffer
    ) {
        self.embedding = embedding
        self.layers = layers
        self.finalNorm = finalNorm
        self.unembedding = unembedding
    }
}

/// How a checkpoint names its tensors, and whether its Q/K rows need the RoPE permutation.
public struct WeightNaming: Sendable {
    var embedding: String
    var finalNorm: String
    var unembedding: String
    var layer: @Sendable (Int, LayerTensor) -> String
    /// Hugging Face stores Q/K for rotate-half RoPE; GGUF's converter already permuted them.
    var permuteQueryKey: Bool

    enum LayerTensor: CaseIterable { case attnNorm, q, k, v, o, mlpNorm, gate, up, down }

    static let gguf = WeightNaming(
        embedding: "token_embd.weight", finalNorm: "output_norm.weight",
        unembedding: "output.weight",
        layer: { l, t in
            let name =
                switch t {
                case .attnNorm: "attn_norm"
                case .q: "attn_q"
                case .k: "attn_k"
                case .v: "attn_v"
                case .o: "attn_output"
                case .mlpNorm: "ffn_norm"
                case .gate: "ffn_gate"
                case .up: "ffn_up"
                case .down: "ffn_down"
                }
            return "blk.\(l).\(name).weight"
        }, permuteQueryKey: false)

    static let huggingFace = WeightNaming(
        embedding: "model.embed_tokens.weight", finalNorm: "model.norm.weight",
        unembedding: "lm_head.weight",
        layer: { l, t in
            let name =
                switch t {
                case .attnNorm: "input_layernorm"
                case .q: "self_attn.q_proj"
                case .k: "self_attn.k_proj"
                case .v: "self_attn.v_proj"
                case .o: "self_attn.o_proj"
                case .mlpNorm: "post_attention_layernorm"
                case .gate: "mlp.gate_proj"
                case .up: "mlp.up_proj"
                case .down: "mlp.down_proj"
                }
            return "model.layers.\(l).\(name).weight"
        }, permuteQueryKey: true)
}

extension LlamaWeights {
    /// Dequantises every tensor of `source` named by `naming`, checking each shape against `config`.
    static func load(
        from source: TensorSource, naming: WeightNaming, config: LlamaConfig
    ) throws -> LlamaWeights {
        let file = source.url.path
        let c = config.hiddenSize, f = config.intermediateSize, d = config.headWidth
        let qRows = config.attentionWidth, kvRows = config.keyValueWidth

        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let found = source.shape(of: name) else {
                throw CheckpointError(file: file, problem: .missingTensor(name))
            }
            // Norm weights are 1-D; GGUF and safetensors agree on that.
            guard found == shape else {
                throw CheckpointError(
                    file: file, problem: .shapeMismatch(tensor: name, expected: shape, found: found))
            }
            let values = try source.floats(named: name)
            if let bad = firstNonFinite(values) {
                throw CheckpointError(
                    file: file,
                    problem: .malformed(
                        "tensor '\(name)' holds a non-finite value (\(values[bad]) at element \(bad));"
                            + " the model would compute NaN logits"))
            }
            return values
        }

        var layers: [LlamaLayerWeights] = []
        for l in 0..<config.layerCount {
            let name = { naming.layer(l, $0) }
            var q = try tensor(name(.q), [qRows, c])
            var k = try tensor(name(.k), [kvRows, c])
            if naming.permuteQueryKey {
                q = permuteForAdjacentRoPE(q, heads: config.headCount, headWidth: d, columns: c)
                k = permuteForAdjacentRoPE(
                    k, heads: config.keyValueHeadCount, headWidth: d, columns: c)
            }
            let v = try tensor(name(.v), [kvRows, c])
            let gate = try tensor(name(.gate), [f, c])
            let up = try tensor(name(.up), [f, c])
            layers.append(
                LlamaLayerWeights(
                    attentionNorm: FloatBuffer(try tensor(name(.attnNorm), [c])),
                    qkv: FloatBuffer(q + k + v),
                    output: FloatBuffer(try tensor(name(.o), [c, qRows])),
                    mlpNorm: FloatBuffer(try tensor(name(.mlpNorm), [c])),
                    gateUp: FloatBuffer(gate + up),
                    down: FloatBuffer(try tensor(name(.down), [c, f]))))
        }
        let embedding = FloatBuffer(try tensor(naming.embedding, [config.vocabularySize, c]))
        let unembedding =
            config.tiedEmbeddings
            ? embedding : FloatBuffer(try tensor(naming.unembedding, [config.vocabularySize, c]))
        return LlamaWeights(
            embedding: embedding, layers: layers,
            finalNorm: FloatBuffer(try tensor(naming.finalNorm, [c])), unembedding: unembedding)
    }

    static func firstNonFinite(_ values: [Float]) -> Int? {
        values.withUnsafeBufferPointer { FiniteCheck.firstNonFinite($0) }
    }

    /// Reorders the rows of a Hugging Face Q or K matrix so that RoPE's rotate-half pairs
    /// (i, i + D/2) become adjacent pairs (2i, 2i + 1), as llama.cpp's converter does:
    /// new row h·D + 2i + j = old row h·D + j·D/2 + i.
    static func permuteForAdjacentRoPE(
        _ w: [Float], heads: Int, headWidth d: Int, columns: Int
    ) -> [Float] {
        var out = [Float](repeating: 0, count: w.count)
        for h in 0..<heads {
            for i in 0..<d / 2 {
                for j in 0..<2 {
                    let newRow = h * d + 2 * i + j
                    let oldRow = h * d + j * (d / 2) + i
                    for col in 0..<columns { out[newRow * columns + col] = w[oldRow * columns + col] }
                }
            }
        }
        return out
    }
}
