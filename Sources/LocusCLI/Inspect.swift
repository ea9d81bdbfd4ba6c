import ArgumentParser
import Foundation
import LocusCheckpoint
import LocusModel

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
        let model = try LlamaModel.load(from: source, directory: url)
        let c = model.config
        print(
            "model: llama, \(c.layerCount) layers, width \(c.hiddenSize), FFN \(c.intermediateSize), "
                + "\(c.headCount) query heads / \(c.keyValueHeadCount) KV heads of width \(c.headWidth), "
                + "vocabulary \(c.vocabularySize), context \(c.contextLength), RoPE base \(c.ropeBase), "
                + "RMSNorm ε \(c.rmsNormEpsilon), \(c.tiedEmbeddings ? "tied" : "untied") embeddings")
        print("heads: \(c.layerCount * c.headCount) (sites: blocks.{0..\(c.layerCount - 1)}.attn.hook_z, …)")
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
