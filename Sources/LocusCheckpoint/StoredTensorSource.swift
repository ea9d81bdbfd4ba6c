import Foundation

/// A checkpoint that can hand out a tensor as its stored bytes (a slice of the memory-mapped
/// file, no conversion), so a model can keep F16/BF16/quantised weights in their stored type
/// (`WeightStorage.stored`). GGUF files and Hugging Face safetensors (single or sharded) are.
public protocol StoredTensorSource: TensorSource {
    /// The tensor's element type and bytes (row-major, `type`'s layout), a slice of the mapping.
    /// - Throws: `.missingTensor`, `.unsupportedTensorType` (a type Locus cannot decode) or
    ///   `.truncated`, naming the file.
    func storedTensor(named name: String) throws(CheckpointError) -> (type: GGMLType, bytes: Data)
}

extension GGUFFile: StoredTensorSource {
    public func storedTensor(named name: String) throws(CheckpointError) -> (type: GGMLType, bytes: Data) {
        guard let info = tensorInfo(named: name) else {
            throw CheckpointError(file: url.path, problem: .missingTensor(name))
        }
        guard info.type.canDequantize else {
            throw CheckpointError(
                file: url.path, problem: .unsupportedTensorType(tensor: name, type: info.type.name))
        }
        return (info.type, try rawData(named: name))
    }
}

extension ShardedTensorSource: StoredTensorSource {
    public func storedTensor(named name: String) throws(CheckpointError) -> (type: GGMLType, bytes: Data) {
        guard let shard = shards.first(where: { $0.tensorInfo(named: name) != nil }) else {
            throw CheckpointError(file: url.path, problem: .missingTensor(name))
        }
        return try shard.storedTensor(named: name)
    }
}
