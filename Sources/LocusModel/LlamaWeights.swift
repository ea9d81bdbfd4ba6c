import Foundation
import LocusCheckpoint
import LocusTensor
import LocusWeights

/// One decoder block's parameters in (out, in) layout: norms as fp32, the four projections as
/// `WeightMatrix`es (dense fp32, or kept in the checkpoint's stored type; see `WeightStorage`).
///
/// Q, K and V are stacked into one matrix and gate and up into another, so each block runs two
/// large products instead of five small ones (width 576 makes small GEMMs inefficient).
///
/// The `FloatBuffer` accessors (`qkv`, `output`, `gateUp`, `down`) are the fp32 view methods
/// edit and read: the first access converts that one matrix to dense fp32 in place
/// (`WeightMatrix.makeDense()`), so ROME or FT-L on a quantised model materialise only the
/// matrix they edit. Forward and backward passes use the `…Matrix` properties and never convert.
public final class LlamaLayerWeights: @unchecked Sendable {
    public let attentionNorm: FloatBuffer  // (C)
    /// Rows 0..<H·D are W_q, then W_k (G·D rows), then W_v (G·D rows); Q/K rows in the
    /// adjacent-pair RoPE layout.
    public let qkvMatrix: WeightMatrix  // (H·D + 2·G·D, C)
    /// o_proj; head h owns input columns h·D..<(h+1)·D.
    public let outputMatrix: WeightMatrix  // (C, H·D)
    public let mlpNorm: FloatBuffer  // (C)
    public let gateUpMatrix: WeightMatrix  // (2F, C): gate rows then up rows
    public let downMatrix: WeightMatrix  // (C, F)

    init(
        attentionNorm: FloatBuffer, qkv: WeightMatrix, output: WeightMatrix,
        mlpNorm: FloatBuffer, gateUp: WeightMatrix, down: WeightMatrix
    ) {
        self.attentionNorm = attentionNorm
        qkvMatrix = qkv
        outputMatrix = output
        self.mlpNorm = mlpNorm
        gateUpMatrix = gateUp
        downMatrix = down
    }

    /// fp32 view of `qkvMatrix` (converts it to dense on first use).
    public var qkv: FloatBuffer { qkvMatrix.makeDense() }  // (H·D + 2·G·D, C)
    /// fp32 view of `outputMatrix` (converts it to dense on first use).
    public var output: FloatBuffer { outputMatrix.makeDense() }  // (C, H·D)
    /// fp32 view of `gateUpMatrix` (converts it to dense on first use).
    public var gateUp: FloatBuffer { gateUpMatrix.makeDense() }  // (2F, C)
    /// fp32 view of `downMatrix` (converts it to dense on first use): ROME and FT-L edit it.
    public var down: FloatBuffer { downMatrix.makeDense() }  // (C, F)
}

/// All parameters of a llama model.
public final class LlamaWeights: @unchecked Sendable {
    public let embeddingMatrix: WeightMatrix  // (V, C)
    public let layers: [LlamaLayerWeights]
    public let finalNorm: FloatBuffer  // (C)
    /// The unembedding; the same object as `embeddingMatrix` when tied.
    public let unembeddingMatrix: WeightMatrix  // (V, C)

    init(
        embedding: WeightMatrix, layers: [LlamaLayerWeights], finalNorm: FloatBuffer,
        unembedding: WeightMatrix
    ) {
        embeddingMatrix = embedding
        self.layers = layers
        self.finalNorm = finalNorm
        unembeddingMatrix = unembedding
    }

    /// fp32 view of the embedding (converts it to dense on first use).
    public var embedding: FloatBuffer { embeddingMatrix.makeDense() }  // (V, C)
    /// fp32 view of the unembedding (converts it to dense on first use).
    public var unembedding: FloatBuffer { unembeddingMatrix.makeDense() }  // (V, C)

    /// Bytes the weights occupy in memory (stored types as stored, dense as fp32).
    public var residentBytes: Int {
        var total = embeddingMatrix.residentBytes + 4 * finalNorm.count
        if unembeddingMatrix !== embeddingMatrix { total += unembeddingMatrix.residentBytes }
        for layer in layers {
            total += 4 * (layer.attentionNorm.count + layer.mlpNorm.count)
            for m in [layer.qkvMatrix, layer.outputMatrix, layer.gateUpMatrix, layer.downMatrix] {
                total += m.residentBytes
            }
        }
        return total
    }
}

/// How a model keeps its weight matrices in memory.
public enum WeightStorage: String, Sendable, CaseIterable {
    /// In the checkpoint's stored type, memory-mapped: GGUF block types (quantised kernels) and
    /// F16/BF16 of GGUF or Hugging Face safetensors (dequantised panel by panel); F32 is F32.
    /// Hugging Face Q/K rows are reordered for the RoPE layout by copying their bytes.
    case stored
    /// Every matrix dequantised to fp32 at load: the parity reference.
    case f32
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
    /// Reads every tensor of `source` named by `naming`, checking each shape against `config`:
    /// dequantised to fp32, or (`.stored`, GGUF only) kept as slices of the mapped file.
    static func load(
        from source: TensorSource, naming: WeightNaming, config: LlamaConfig,
        storage: WeightStorage = .f32
    ) throws -> LlamaWeights {
        let file = source.url.path
        let c = config.hiddenSize, f = config.intermediateSize, d = config.headWidth
        let qRows = config.attentionWidth, kvRows = config.keyValueWidth
        // GGUF and safetensors hand out stored bytes (F16/BF16/quantised stay as stored).
        let stored = storage == .stored ? source as? StoredTensorSource : nil

        func checkShape(_ name: String, _ shape: [Int]) throws {
            guard let found = source.shape(of: name) else {
                throw CheckpointError(file: file, problem: .missingTensor(name))
            }
            // Norm weights are 1-D; GGUF and safetensors agree on that.
            guard found == shape else {
                throw CheckpointError(
                    file: file, problem: .shapeMismatch(tensor: name, expected: shape, found: found))
            }
        }
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            try checkShape(name, shape)
            return try finite(name, source.floats(named: name))
        }
        func finite(_ name: String, _ values: [Float]) throws -> [Float] {
            if let bad = firstNonFinite(values) {
                throw CheckpointError(
                    file: file,
                    problem: .malformed(
                        "tensor '\(name)' holds a non-finite value (\(values[bad]) at element \(bad));"
                            + " the model would compute NaN logits"))
            }
            return values
        }
        /// A (rows, columns) matrix: the stored bytes when kept stored, else fp32 (`transform`
        /// applies to the fp32 values, e.g. the RoPE permutation of Hugging Face Q/K; a stored
        /// F16/BF16 matrix gets the same row order by moving its rows' bytes, `rowOrder`).
        func matrix(
            _ name: String, _ rows: Int, _ columns: Int,
            transform: (([Float]) -> [Float])? = nil, rowOrder: [Int]? = nil
        ) throws -> WeightMatrix {
            try checkShape(name, [rows, columns])
            // F32 tensors take the fp32 path below (they are checked for non-finite values).
            if let stored, let (type, bytes) = try? stored.storedTensor(named: name), type != .f32,
                transform == nil || (rowOrder != nil && type.blockSize == 1)
            {
                let kept: WeightMatrix
                do {
                    let ordered = rowOrder.map { reorderRows(bytes, $0, rowBytes: bytes.count / rows) } ?? bytes
                    kept = try WeightMatrix(rows: rows, columns: columns, type: type, bytes: ordered)
                } catch let error as WeightMatrixError {
                    throw CheckpointError(file: file, problem: .malformed("tensor '\(name)': \(error)"))
                }
                // Not scanned for non-finite values here, unlike fp32 tensors: a scan touches every
                // page of the mapping (measured on the 7B-shaped Q8_0 file: load 0.09 s → 173 s
                // under load, RSS 37 MB → 7.2 GB before the first token). A NaN or ±∞ scale still
                // cannot pass unnoticed: the forward refuses non-finite logits
                // (`ModelError.nonFiniteLogits`), and `WeightMatrix.firstNonFiniteBlock()` finds
                // the block on demand.
                return kept
            }
            var values = try finite(name, source.floats(named: name))
            if let transform { values = transform(values) }
            return WeightMatrix(rows: rows, columns: columns, values: FloatBuffer(values))
        }

        var layers: [LlamaLayerWeights] = []
        for l in 0..<config.layerCount {
            let name = { naming.layer(l, $0) }
            let permuteQ: (([Float]) -> [Float])? =
                naming.permuteQueryKey
                ? { permuteForAdjacentRoPE($0, heads: config.headCount, headWidth: d, columns: c) }
                : nil
            let permuteK: (([Float]) -> [Float])? =
                naming.permuteQueryKey
                ? {
                    permuteForAdjacentRoPE(
                        $0, heads: config.keyValueHeadCount, headWidth: d, columns: c)
                } : nil
            /// The permutation as a row order (the same function on the row indices).
            func order(heads: Int) -> [Int]? {
                guard naming.permuteQueryKey else { return nil }
                return permuteForAdjacentRoPE(
                    (0..<heads * d).map(Float.init), heads: heads, headWidth: d, columns: 1
                ).map { Int($0) }
            }
            let q = try matrix(
                name(.q), qRows, c, transform: permuteQ, rowOrder: order(heads: config.headCount))
            let k = try matrix(
                name(.k), kvRows, c, transform: permuteK, rowOrder: order(heads: config.keyValueHeadCount))
            let v = try matrix(name(.v), kvRows, c)
            let gate = try matrix(name(.gate), f, c)
            let up = try matrix(name(.up), f, c)
            layers.append(
                LlamaLayerWeights(
                    attentionNorm: FloatBuffer(try tensor(name(.attnNorm), [c])),
                    qkv: stack([q, k, v]),
                    output: try matrix(name(.o), c, qRows),
                    mlpNorm: FloatBuffer(try tensor(name(.mlpNorm), [c])),
                    gateUp: stack([gate, up]),
                    down: try matrix(name(.down), c, f)))
        }
        let embedding = try matrix(naming.embedding, config.vocabularySize, c)
        let unembedding =
            config.tiedEmbeddings
            ? embedding : try matrix(naming.unembedding, config.vocabularySize, c)
        return LlamaWeights(
            embedding: embedding, layers: layers,
            finalNorm: FloatBuffer(try tensor(naming.finalNorm, [c])), unembedding: unembedding)
    }

    /// Dense parts are fused into one fp32 buffer (one GEMM, as before); stored parts are
    /// stacked as they are (their types may differ).
    static func stack(_ parts: [WeightMatrix]) -> WeightMatrix {
        let dense = parts.compactMap { part -> FloatBuffer? in
            if case .dense(let buffer) = part.storage { return buffer }
            return nil
        }
        guard dense.count == parts.count else { return WeightMatrix(stacking: parts) }
        let columns = parts[0].columns
        let rows = parts.reduce(0) { $0 + $1.rows }
        let fused = FloatBuffer(count: rows * columns)
        var offset = 0
        for (part, buffer) in zip(parts, dense) {
            (fused.pointer + offset).update(from: buffer.pointer, count: part.rows * columns)
            offset += part.rows * columns
        }
        return WeightMatrix(rows: rows, columns: columns, values: fused)
    }

    static func firstNonFinite(_ values: [Float]) -> Int? {
        values.withUnsafeBufferPointer { FiniteCheck.firstNonFinite($0) }
    }

    /// Reorders the rows of a Hugging Face Q or K matrix so that RoPE's rotate-half pairs
    /// (i, i + D/2) become adjacent pairs (2i, 2i + 1), as llama.cpp's converter does:
    /// new row h·D + 2i + j = old row h·D + j·D/2 + i.
    /// `bytes`' rows in the order `order` (row r of the result is row `order[r]` of `bytes`).
    static func reorderRows(_ bytes: Data, _ order: [Int], rowBytes: Int) -> Data {
        var out = Data(count: bytes.count)
        out.withUnsafeMutableBytes { dst in
            bytes.withUnsafeBytes { src in
                for (r, from) in order.enumerated() {
                    (dst.baseAddress! + r * rowBytes).copyMemory(
                        from: src.baseAddress! + from * rowBytes, byteCount: rowBytes)
                }
            }
        }
        return out
    }

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
