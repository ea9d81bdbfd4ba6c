import Foundation
import LocusCheckpoint
import LocusTensor
import LocusWeights

/// One decoder block's parameters in (out, in) layout: norms and biases as fp32, the
/// projections as `WeightMatrix`es (dense fp32, or kept in the checkpoint's stored type; see
/// `WeightStorage`). Optional members are the ones a family may lack (`Architecture`); the
/// forward pass applies whichever are present.
///
/// Q, K and V are stacked into one matrix and gate and up into another, so each block runs two
/// large products instead of five small ones (width 576 makes small GEMMs inefficient).
///
/// The `FloatBuffer` accessors (`qkv`, `output`, `gateUp`, `down`) are the fp32 view methods
/// edit and read: the first access converts that one matrix to dense fp32 in place
/// (`WeightMatrix.makeDense()`), so ROME or FT-L on a quantised model materialise only the
/// matrix they edit. Forward and backward passes use the `…Matrix` properties and never convert.
public final class LayerWeights: @unchecked Sendable {
    /// The block input's norm (GPT-J: the only one, read by attention and MLP).
    public let attentionNorm: FloatBuffer  // (C)
    public let attentionNormBias: FloatBuffer?  // (C), LayerNorm families
    /// Rows 0..<H·D are W_q, then W_k (G·D rows), then W_v (G·D rows); Q/K rows in the
    /// adjacent-pair RoPE layout.
    public let qkvMatrix: WeightMatrix  // (H·D + 2·G·D, C)
    public let qkvBias: FloatBuffer?  // (H·D + 2·G·D)
    /// Per-head RMSNorm weights of Q and K (Gemma-3), in the adjacent-pair layout.
    public let queryNorm: FloatBuffer?  // (D)
    public let keyNorm: FloatBuffer?  // (D)
    /// o_proj; head h owns input columns h·D..<(h+1)·D.
    public let outputMatrix: WeightMatrix  // (C, H·D)
    /// o_proj's bias (GPT-2), or one an edit created (`attentionOutputBias()`, ITI).
    public private(set) var outputBias: FloatBuffer?  // (C)
    /// Gemma-3's norm of the attention output before it joins the residual.
    public let postAttentionNorm: FloatBuffer?  // (C)
    /// The MLP input's norm; for a parallel block (GPT-J) the same buffer as `attentionNorm`.
    public let mlpNorm: FloatBuffer  // (C)
    public let mlpNormBias: FloatBuffer?  // (C)
    /// Gated MLPs: gate rows then up rows (2F, C); GELU MLPs: the up projection (F, C).
    public let gateUpMatrix: WeightMatrix
    public let gateUpBias: FloatBuffer?  // (F), GELU MLPs with biases
    public let downMatrix: WeightMatrix  // (C, F)
    public let downBias: FloatBuffer?  // (C)
    /// Gemma-3's norm of the MLP output before it joins the residual.
    public let postMLPNorm: FloatBuffer?  // (C)

    init(
        attentionNorm: FloatBuffer, attentionNormBias: FloatBuffer? = nil, qkv: WeightMatrix,
        qkvBias: FloatBuffer? = nil, queryNorm: FloatBuffer? = nil, keyNorm: FloatBuffer? = nil,
        output: WeightMatrix, outputBias: FloatBuffer? = nil, postAttentionNorm: FloatBuffer? = nil,
        mlpNorm: FloatBuffer, mlpNormBias: FloatBuffer? = nil, gateUp: WeightMatrix,
        gateUpBias: FloatBuffer? = nil, down: WeightMatrix, downBias: FloatBuffer? = nil,
        postMLPNorm: FloatBuffer? = nil
    ) {
        self.attentionNorm = attentionNorm
        self.attentionNormBias = attentionNormBias
        qkvMatrix = qkv
        self.qkvBias = qkvBias
        self.queryNorm = queryNorm
        self.keyNorm = keyNorm
        outputMatrix = output
        self.outputBias = outputBias
        self.postAttentionNorm = postAttentionNorm
        self.mlpNorm = mlpNorm
        self.mlpNormBias = mlpNormBias
        gateUpMatrix = gateUp
        self.gateUpBias = gateUpBias
        downMatrix = down
        self.downBias = downBias
        self.postMLPNorm = postMLPNorm
    }

    /// fp32 view of `qkvMatrix` (converts it to dense on first use).
    public var qkv: FloatBuffer { qkvMatrix.makeDense() }  // (H·D + 2·G·D, C)
    /// fp32 view of `outputMatrix` (converts it to dense on first use).
    public var output: FloatBuffer { outputMatrix.makeDense() }  // (C, H·D)
    /// fp32 view of `gateUpMatrix` (converts it to dense on first use).
    public var gateUp: FloatBuffer { gateUpMatrix.makeDense() }  // (2F or F, C)
    /// fp32 view of `downMatrix` (converts it to dense on first use): ROME and FT-L edit it.
    public var down: FloatBuffer { downMatrix.makeDense() }  // (C, F)

    // MARK: family-neutral handles for methods

    /// The MLP output projection, (C, F) in (out, in) layout in every family (GPT-2's Conv1D
    /// `c_proj` was transposed at load): the matrix ROME and FT-L edit.
    public var mlpOutputProjection: WeightMatrix { downMatrix }
    /// The attention output projection, (C, H·D); head h owns columns h·D..<(h+1)·D.
    public var attentionOutputProjection: WeightMatrix { outputMatrix }

    /// The attention output projection's bias, created (zeros) when the family has none, so an
    /// edit (ITI's baked shift) can write into it; the forward pass adds it from then on.
    public func attentionOutputBias() -> FloatBuffer {
        if let outputBias { return outputBias }
        let created = FloatBuffer(count: outputMatrix.rows)
        created.pointer.update(repeating: 0, count: outputMatrix.rows)
        outputBias = created
        return created
    }

    /// The attention output bias as it is now (nil: the layer has none), for an exact undo.
    public func attentionOutputBiasSnapshot() -> [Float]? {
        outputBias.map { $0.array(count: outputMatrix.rows) }
    }

    /// Puts back a `attentionOutputBiasSnapshot()`: the same values bit for bit, or (nil) no
    /// bias at all, as before `attentionOutputBias()` created one.
    public func restoreAttentionOutputBias(_ snapshot: [Float]?) {
        guard let snapshot else {
            outputBias = nil
            return
        }
        precondition(snapshot.count == outputMatrix.rows, "bias of width \(snapshot.count) for a (\(outputMatrix.rows), …) projection")
        let bias = attentionOutputBias()
        snapshot.withUnsafeBufferPointer { bias.pointer.update(from: $0.baseAddress!, count: $0.count) }
    }
}

/// All parameters of a model.
public final class ModelWeights: @unchecked Sendable {
    public let embeddingMatrix: WeightMatrix  // (V, C)
    /// Learned absolute positions (GPT-2).
    public let positionEmbedding: FloatBuffer?  // (context, C)
    public let layers: [LayerWeights]
    public let finalNorm: FloatBuffer  // (C)
    public let finalNormBias: FloatBuffer?  // (C)
    /// The unembedding; the same object as `embeddingMatrix` when tied.
    public let unembeddingMatrix: WeightMatrix  // (V, C)
    public let unembeddingBias: FloatBuffer?  // (V), GPT-J

    init(
        embedding: WeightMatrix, positionEmbedding: FloatBuffer? = nil, layers: [LayerWeights],
        finalNorm: FloatBuffer, finalNormBias: FloatBuffer? = nil, unembedding: WeightMatrix,
        unembeddingBias: FloatBuffer? = nil
    ) {
        embeddingMatrix = embedding
        self.positionEmbedding = positionEmbedding
        self.layers = layers
        self.finalNorm = finalNorm
        self.finalNormBias = finalNormBias
        unembeddingMatrix = unembedding
        self.unembeddingBias = unembeddingBias
    }

    /// fp32 view of the embedding (converts it to dense on first use).
    public var embedding: FloatBuffer { embeddingMatrix.makeDense() }  // (V, C)
    /// fp32 view of the unembedding (converts it to dense on first use).
    public var unembedding: FloatBuffer { unembeddingMatrix.makeDense() }  // (V, C)

    /// Bytes the weights occupy in memory (stored types as stored: 2 per F16/BF16 element, the
    /// block size for quantised types; dense and every vector as fp32).
    public var residentBytes: Int {
        matrices.reduce(0) { $0 + $1.residentBytes } + 4 * vectorElementCount
    }

    /// Every parameter, counted from the tensors as loaded (biases, norms, learned positions
    /// included; a tied unembedding once).
    public var parameterCount: Int {
        matrices.reduce(0) { $0 + $1.rows * $1.columns } + vectorElementCount
    }

    /// Each distinct weight matrix once.
    private var matrices: [WeightMatrix] {
        var all = [embeddingMatrix]
        if unembeddingMatrix !== embeddingMatrix { all.append(unembeddingMatrix) }
        for layer in layers {
            all += [layer.qkvMatrix, layer.outputMatrix, layer.gateUpMatrix, layer.downMatrix]
        }
        return all
    }

    /// Elements of every norm weight, bias and position table (each distinct buffer once).
    private var vectorElementCount: Int {
        var total = finalNorm.count
        for buffer in [positionEmbedding, finalNormBias, unembeddingBias] { total += buffer?.count ?? 0 }
        for layer in layers {
            let vectors = [
                layer.attentionNorm, layer.attentionNormBias, layer.qkvBias, layer.queryNorm,
                layer.keyNorm, layer.outputBias, layer.postAttentionNorm,
                layer.mlpNorm === layer.attentionNorm ? nil : layer.mlpNorm, layer.mlpNormBias,
                layer.gateUpBias, layer.downBias, layer.postMLPNorm,
            ]
            total += vectors.reduce(0) { $0 + ($1?.count ?? 0) }
        }
        return total
    }
}

/// How a model keeps its weight matrices in memory.
public enum WeightStorage: String, Sendable, CaseIterable {
    /// In the checkpoint's stored type, memory-mapped: GGUF block types (quantised kernels) and
    /// F16/BF16 of GGUF or Hugging Face safetensors (decode: widened in registers by
    /// `locus_matvec16`; prefill: dequantised panel by panel); F32 is F32.
    /// Half-split Q/K rows are reordered for the RoPE layout by copying their bytes.
    case stored
    /// Every matrix dequantised to fp32 at load: the parity reference.
    case f32
}

extension ModelWeights {
    /// Reads every tensor of `source` named by `names` that `config.architecture` needs,
    /// checking each shape: dequantised to fp32, or (`.stored`, GGUF or safetensors) kept as slices of the
    /// mapped file. Matrices come out (out, in) with Q/K rows in the adjacent-pair RoPE layout.
    static func load(
        from source: TensorSource, names: TensorNames, config: ModelConfig,
        storage: WeightStorage = .f32
    ) throws -> ModelWeights {
        let file = source.url.path
        let arch = config.architecture
        let c = config.hiddenSize, f = config.intermediateSize, d = config.headWidth
        let qRows = config.attentionWidth, kvRows = config.keyValueWidth
        // GGUF and safetensors hand out stored bytes (F16/BF16/quantised stay as stored).
        let stored = storage == .stored ? source as? StoredTensorSource : nil
        let rotary = arch.positions == .rotary ? (arch.rotaryWidth ?? d) : 0
        let permute = names.rotaryLayout == .halfSplit && rotary > 0

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
        func nonFinite(_ name: String, _ value: Float, at index: Int) -> CheckpointError {
            CheckpointError(
                file: file,
                problem: .malformed(
                    "tensor '\(name)' holds a non-finite value (\(value) at element \(index));"
                        + " the model would compute NaN logits"))
        }
        func finite(_ name: String, _ values: [Float]) throws -> [Float] {
            if let bad = firstNonFinite(values) { throw nonFinite(name, values[bad], at: bad) }
            return values
        }
        /// Tensor `name` (`count` elements) as fp32, read straight into the buffer that keeps it
        /// (no temporary array), checked for non-finite values; then its pages of the mapped
        /// file are released, so an fp32 checkpoint is not resident twice while it loads.
        func denseBuffer(_ name: String, _ count: Int) throws -> FloatBuffer {
            let buffer = FloatBuffer(count: count)
            try source.floats(named: name, into: UnsafeMutableBufferPointer(start: buffer.pointer, count: count))
            source.releasePages(of: name)
            if let bad = FiniteCheck.firstNonFinite(UnsafeBufferPointer(start: buffer.pointer, count: count)) {
                throw nonFinite(name, buffer.pointer[bad], at: bad)
            }
            return buffer
        }
        /// A 1-D tensor (norm weight or bias); `offset` is added (Gemma's 1 + w); `heads`
        /// permutes a per-head vector of Q/K (bias: H or G heads; q/k norm weight: 1 head).
        func vector(_ name: String, _ count: Int, offset: Float = 0, heads: Int = 0) throws -> FloatBuffer {
            try checkShape(name, [count])
            var values = try finite(name, source.floats(named: name))
            if offset != 0 { for i in values.indices { values[i] += offset } }
            if permute, heads > 0 {
                values = permuteForAdjacentRoPE(
                    values, heads: heads, headWidth: d, columns: 1, rotaryWidth: rotary)
            }
            return FloatBuffer(values)
        }
        func norm(_ name: String) throws -> FloatBuffer { try vector(name, c, offset: names.normOffset) }
        func layerName(_ l: Int, _ t: TensorNames.LayerTensor) throws -> String {
            guard let name = names.layer(l, t) else {
                throw CheckpointError(
                    file: file,
                    problem: .malformed("the \(arch.family) loader names no tensor for \(t) of layer \(l)"))
            }
            return name
        }
        /// A (rows, columns) matrix: the stored bytes when kept stored, else fp32. `headRows`
        /// > 0 applies the RoPE row permutation for that many heads (half-split checkpoints).
        func matrix(_ name: String, _ rows: Int, _ columns: Int, heads: Int = 0) throws -> WeightMatrix {
            let permuteRows = permute && heads > 0
            if names.transposedMatrices {
                try checkShape(name, [columns, rows])
                // One matrix at a time: the stored (in, out) copy lives only until transposed.
                let values = transposed(try denseBuffer(name, rows * columns), rows: columns, columns: rows)
                if permuteRows { permuteRowsInPlace(values, heads: heads, columns: columns) }
                return WeightMatrix(rows: rows, columns: columns, values: values)
            }
            try checkShape(name, [rows, columns])
            // F32 tensors take the fp32 path below (they are checked for non-finite values).
            if let stored, let (type, stored) = try? stored.storedTensor(named: name), type != .f32 {
                do {
                    var bytes = stored
                    if permuteRows {
                        // Whole rows move, so any stored type (F16/BF16 safetensors, quantised
                        // GGUF rows) gets the same row order as the fp32 permutation.
                        bytes = permuteRowBytes(
                            bytes, rowBytes: bytes.count / rows, heads: heads, headWidth: d,
                            rotaryWidth: rotary)
                    }
                    // Not scanned for non-finite values here, unlike fp32 tensors: a scan touches
                    // every page of the mapping (measured on the 7B-shaped Q8_0 file: load 0.09 s
                    // → 173 s under load, RSS 37 MB → 7.2 GB before the first token). A NaN or ±∞
                    // scale still cannot pass unnoticed: the forward refuses non-finite logits
                    // (`ModelError.nonFiniteLogits`), and `WeightMatrix.firstNonFiniteBlock()`
                    // finds the block on demand.
                    return try WeightMatrix(rows: rows, columns: columns, type: type, bytes: bytes)
                } catch let error as WeightMatrixError {
                    throw CheckpointError(file: file, problem: .malformed("tensor '\(name)': \(error)"))
                }
            }
            let values = try denseBuffer(name, rows * columns)
            if permuteRows { permuteRowsInPlace(values, heads: heads, columns: columns) }
            return WeightMatrix(rows: rows, columns: columns, values: values)
        }
        /// The RoPE row permutation of one (rows, columns) fp32 matrix, through one copy of it.
        func permuteRowsInPlace(_ values: FloatBuffer, heads: Int, columns: Int) {
            let original = values.array()
            for (newRow, oldRow) in adjacentRoPERows(heads: heads, headWidth: d, rotaryWidth: rotary) {
                original.withUnsafeBufferPointer {
                    (values.pointer + newRow * columns).update(
                        from: $0.baseAddress! + oldRow * columns, count: columns)
                }
            }
        }

        var layers: [LayerWeights] = []
        for l in 0..<config.layerCount {
            let name = { try layerName(l, $0) }
            let qkv: WeightMatrix
            var qkvBias: FloatBuffer? = nil
            if names.layer(l, .queryKeyValue) != nil {
                // GPT-2's fused c_attn (learned positions: no permutation).
                qkv = try matrix(name(.queryKeyValue), qRows + 2 * kvRows, c)
                if arch.queryKeyValueBias {
                    qkvBias = try vector(name(.queryKeyValueBias), qRows + 2 * kvRows)
                }
            } else {
                qkv = stack([
                    try matrix(name(.query), qRows, c, heads: config.headCount),
                    try matrix(name(.key), kvRows, c, heads: config.keyValueHeadCount),
                    try matrix(name(.value), kvRows, c),
                ])
                if arch.queryKeyValueBias {
                    let q = try vector(name(.queryBias), qRows, heads: config.headCount)
                    let k = try vector(name(.keyBias), kvRows, heads: config.keyValueHeadCount)
                    let v = try vector(name(.valueBias), kvRows)
                    qkvBias = FloatBuffer([q, k, v].flatMap { Array(UnsafeBufferPointer(start: $0.pointer, count: $0.count)) })
                }
            }
            let gateUp: WeightMatrix
            if arch.mlp.isGated {
                gateUp = stack([try matrix(name(.gate), f, c), try matrix(name(.up), f, c)])
            } else {
                gateUp = try matrix(name(.up), f, c)
            }
            let attentionNorm = try norm(name(.attentionNorm))
            let normBias = arch.norm == .layerNorm
            layers.append(
                LayerWeights(
                    attentionNorm: attentionNorm,
                    attentionNormBias: normBias ? try vector(name(.attentionNormBias), c) : nil,
                    qkv: qkv, qkvBias: qkvBias,
                    queryNorm: arch.queryKeyNorm
                        ? try vector(name(.queryNorm), d, offset: names.normOffset, heads: 1) : nil,
                    keyNorm: arch.queryKeyNorm
                        ? try vector(name(.keyNorm), d, offset: names.normOffset, heads: 1) : nil,
                    output: try matrix(name(.output), c, qRows),
                    outputBias: arch.outputBias ? try vector(name(.outputBias), c) : nil,
                    postAttentionNorm: arch.sandwichNorms ? try norm(name(.postAttentionNorm)) : nil,
                    mlpNorm: arch.parallel ? attentionNorm : try norm(name(.mlpNorm)),
                    mlpNormBias: normBias && !arch.parallel ? try vector(name(.mlpNormBias), c) : nil,
                    gateUp: gateUp,
                    gateUpBias: arch.mlpBias ? try vector(name(.upBias), f) : nil,
                    down: try matrix(name(.down), c, f),
                    downBias: arch.mlpBias ? try vector(name(.downBias), c) : nil,
                    postMLPNorm: arch.sandwichNorms ? try norm(name(.postMLPNorm)) : nil))
        }
        let embedding = try { () throws -> WeightMatrix in
            // Embedding tables are (V, C) in every layout (GPT-2's wte is not a Conv1D).
            if names.transposedMatrices {
                try checkShape(names.embedding, [config.vocabularySize, c])
                return WeightMatrix(
                    rows: config.vocabularySize, columns: c,
                    values: try denseBuffer(names.embedding, config.vocabularySize * c))
            }
            return try matrix(names.embedding, config.vocabularySize, c)
        }()
        let unembedding: WeightMatrix
        if config.tiedEmbeddings {
            unembedding = embedding
        } else if names.transposedMatrices {
            try checkShape(names.unembedding, [config.vocabularySize, c])
            unembedding = WeightMatrix(
                rows: config.vocabularySize, columns: c,
                values: try denseBuffer(names.unembedding, config.vocabularySize * c))
        } else {
            unembedding = try matrix(names.unembedding, config.vocabularySize, c)
        }
        var positions: FloatBuffer? = nil
        if arch.positions == .learned {
            guard let name = names.positionEmbedding else {
                throw CheckpointError(file: file, problem: .malformed("no position embedding named"))
            }
            try checkShape(name, [config.contextLength, c])
            positions = try denseBuffer(name, config.contextLength * c)
        }
        return ModelWeights(
            embedding: embedding, positionEmbedding: positions, layers: layers,
            finalNorm: try norm(names.finalNorm),
            finalNormBias: arch.norm == .layerNorm
                ? try vector(names.finalNormBias ?? "final norm bias", c) : nil,
            unembedding: unembedding,
            unembeddingBias: arch.unembeddingBias
                ? try vector(names.unembeddingBias ?? "unembedding bias", config.vocabularySize) : nil)
    }

    /// The (columns, rows) transpose of a (rows, columns) row-major buffer, in 32 × 32 tiles so
    /// both sides stay in cache.
    static func transposed(_ a: FloatBuffer, rows: Int, columns: Int) -> FloatBuffer {
        let out = FloatBuffer(count: rows * columns)
        let tile = 32
        for r0 in stride(from: 0, to: rows, by: tile) {
            for c0 in stride(from: 0, to: columns, by: tile) {
                for r in r0..<min(r0 + tile, rows) {
                    for c in c0..<min(c0 + tile, columns) {
                        out.pointer[c * rows + r] = a.pointer[r * columns + c]
                    }
                }
            }
        }
        return out
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

    /// Reorders the rows of a half-split (rotate-half) Q or K matrix so that RoPE's pairs
    /// (i, i + R/2) become adjacent pairs (2i, 2i + 1), as llama.cpp's converter does for llama
    /// (R = rotary width; rows R..<D of each head stay):
    /// new row h·D + 2i + j = old row h·D + j·R/2 + i.
    static func permuteForAdjacentRoPE(
        _ w: [Float], heads: Int, headWidth d: Int, columns: Int, rotaryWidth: Int? = nil
    ) -> [Float] {
        var out = w
        for (newRow, oldRow) in adjacentRoPERows(heads: heads, headWidth: d, rotaryWidth: rotaryWidth ?? d) {
            for col in 0..<columns { out[newRow * columns + col] = w[oldRow * columns + col] }
        }
        return out
    }

    /// The same permutation on the rows of a stored (quantised) matrix: whole rows move, so
    /// the blocks inside each row are untouched.
    static func permuteRowBytes(
        _ bytes: Data, rowBytes: Int, heads: Int, headWidth d: Int, rotaryWidth: Int
    ) -> Data {
        var out = Data(bytes)
        bytes.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { target in
                for (newRow, oldRow) in adjacentRoPERows(heads: heads, headWidth: d, rotaryWidth: rotaryWidth) {
                    target.baseAddress!.advanced(by: newRow * rowBytes).copyMemory(
                        from: source.baseAddress!.advanced(by: oldRow * rowBytes), byteCount: rowBytes)
                }
            }
        }
        return out
    }

    /// (new row, old row) pairs of the half-split → adjacent-pair permutation.
    static func adjacentRoPERows(heads: Int, headWidth d: Int, rotaryWidth r: Int) -> [(Int, Int)] {
        var pairs: [(Int, Int)] = []
        for h in 0..<heads {
            for i in 0..<r / 2 {
                for j in 0..<2 { pairs.append((h * d + 2 * i + j, h * d + j * (r / 2) + i)) }
            }
        }
        return pairs
    }
}
