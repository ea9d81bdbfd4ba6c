import ArgumentParser
import Foundation
import LocusCheckpoint
import LocusModel
import LocusWeights

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a checkpoint's metadata, tensors and the model shape it implies.")

    @OptionGroup var options: ModelOptions
    @Flag(help: "List every tensor with its type and shape.") var tensors = false
    @Flag(help: "Print all metadata (long arrays abbreviated).") var metadata = false

    func run() throws {
        let url = try options.resolvedURL()
        let source = try openCheckpoint(url)
        print("file: \(url.path)")
        if let gguf = source as? GGUFFile {
            print("format: GGUF v\(gguf.version), \(gguf.tensorInfos.count) tensors, alignment \(gguf.alignment)")
            var byType: [String: Int] = [:]
            for info in gguf.tensorInfos { byType["\(info.type)", default: 0] += 1 }
            print("tensor types: " + byType.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", "))
            if metadata {
                for key in gguf.metadataKeys {
                    guard let value = gguf.metadata[key] else { continue }
                    print("  \(key) = \(abbreviated(value))")
                }
            } else {
                for key in ["general.name", "general.architecture", "tokenizer.ggml.model", "tokenizer.ggml.pre"] {
                    if let v = gguf.metadata[key] { print("\(key): \(abbreviated(v))") }
                }
            }
            if tensors {
                for info in gguf.tensorInfos { print("  \(info.name)  \(info.type)  \(info.shape)") }
            }
        } else {
            print("format: safetensors, \(source.tensorNames.count) tensors")
            if tensors {
                for name in source.tensorNames { print("  \(name)  \(source.shape(of: name) ?? [])") }
            }
        }
        let model = try DecoderModel.load(from: source, directory: url, weights: options.weights)
        let c = model.config
        print(
            "model: \(c.family.rawValue) [\(c.family.displayName)], \(c.layerCount) layers, width \(c.hiddenSize), FFN \(c.intermediateSize), "
                + "\(c.headCount) query heads / \(c.keyValueHeadCount) KV heads of width \(c.headWidth), "
                + "vocabulary \(c.vocabularySize), context \(c.contextLength), RoPE base \(c.ropeBase), "
                + "\(c.architecture.norm == .rms ? "RMSNorm" : "LayerNorm") ε \(c.rmsNormEpsilon), "
                + "\(c.tiedEmbeddings ? "tied" : "untied") embeddings")
        if !c.architecture.hasResidualMid {
            print("block: parallel (attention and MLP read one norm; no blocks.L.hook_resid_mid)")
        }
        print("heads: \(c.layerCount * c.headCount) (sites: blocks.{0..\(c.layerCount - 1)}.attn.hook_z, …)")
        printResidentMemory(model)
    }

    /// The memory the model needs resident: its weights as kept (`--weights`), their fp32 size
    /// for comparison, and the KV cache per 1,024 positions of one sequence (K and V in fp32).
    private func printResidentMemory(_ model: DecoderModel) {
        let c = model.config, w = model.weights
        let parameters = w.parameterCount
        let kvPer1k = 2 * c.layerCount * c.keyValueWidth * 4 * 1024
        func gb(_ bytes: Int) -> String { String(format: "%.2f GB", Double(bytes) / 1e9) }
        var types: [String: Int] = [:]
        for layer in w.layers {
            for m in [layer.qkvMatrix, layer.outputMatrix, layer.gateUpMatrix, layer.downMatrix] {
                for t in m.storedTypes { types[t.name, default: 0] += 1 }
            }
        }
        print("resident memory (--weights \(options.weights.rawValue)): weights \(gb(w.residentBytes))"
              + " (\(parameters) parameters; fp32 would need \(gb(4 * parameters))), KV cache "
              + "\(gb(kvPer1k)) per 1,024 positions of one sequence; total for one 1,024-token "
              + "sequence ≈ \(gb(w.residentBytes + kvPer1k))")
        let head = w.unembeddingMatrix === w.embeddingMatrix
            ? "tied" : "unembedding \(w.unembeddingMatrix.storedTypes.map(\.name).joined(separator: "+"))"
        print("layer matrices kept as: " + types.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ")
              + "; embedding \(w.embeddingMatrix.storedTypes.map(\.name).joined(separator: "+")) (\(head))")
    }

    private func abbreviated(_ value: GGUFValue) -> String {
        switch value {
        case .array(let items) where items.count > 8:
            return "[\(items.prefix(5).map(abbreviated).joined(separator: ", ")), … (\(items.count) items)]"
        case .array(let items): return "[\(items.map(abbreviated).joined(separator: ", "))]"
        case .string(let s): return s.count > 120 ? "\"\(s.prefix(120))…\"" : "\"\(s)\""
        default: return "\(value.double.map { "\($0)" } ?? value.bool.map { "\($0)" } ?? "?")"
        }
    }
}
