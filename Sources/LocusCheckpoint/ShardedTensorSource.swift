import Foundation

/// Several safetensors shards read as one checkpoint, as Hugging Face writes large models:
/// `model.safetensors.index.json` holds `{"weight_map": {tensor name: shard file name}}` and each
/// shard (`model-00001-of-00002.safetensors`, …) sits beside it.
public final class ShardedTensorSource: TensorSource, Sendable {
    /// The index file.
    public let url: URL
    /// The shards, in file-name order.
    public let shards: [SafetensorsFile]
    public let tensorNames: [String]
    private let owner: [String: Int]

    /// Opens the index at `url` and every shard it names.
    /// - Throws: `.cannotOpen` or `.malformed` naming the index; errors of the shards name them.
    public init(index url: URL) throws(CheckpointError) {
        let file = url.path
        let weightMap: [String: String]
        do {
            weightMap = try JSONDecoder().decode(Index.self, from: MappedFile.map(url)).weightMap
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw CheckpointError(
                file: file, problem: .malformed("not a safetensors index: \(error)"))
        }
        let directory = url.deletingLastPathComponent()
        var shards: [SafetensorsFile] = []
        var owner: [String: Int] = [:]
        var names: [String] = []
        for shardName in Set(weightMap.values).sorted() {
            guard !shardName.contains("/"), shardName != "..", !shardName.isEmpty else {
                throw CheckpointError(file: file, problem: .malformed(
                    "shard name '\(shardName)' is not a file name in the index's directory"))
            }
            let shard = try SafetensorsFile(url: directory.appendingPathComponent(shardName))
            for name in shard.tensorNames {
                guard owner.updateValue(shards.count, forKey: name) == nil else {
                    throw CheckpointError(file: file, problem: .malformed(
                        "tensor '\(name)' is stored in more than one shard"))
                }
                names.append(name)
            }
            shards.append(shard)
        }
        for (name, shardName) in weightMap
        where owner[name].map({ shards[$0].url.lastPathComponent }) != shardName {
            throw CheckpointError(file: file, problem: .malformed(
                "the index puts tensor '\(name)' in \(shardName), which does not hold it"))
        }
        self.url = url
        self.shards = shards
        self.owner = owner
        tensorNames = names
    }

    public func shape(of name: String) -> [Int]? {
        owner[name].flatMap { shards[$0].shape(of: name) }
    }

    public func releasePages(of name: String) {
        if let shard = owner[name] { shards[shard].releasePages(of: name) }
    }

    public func floats(named name: String) throws(CheckpointError) -> [Float] {
        guard let shard = owner[name] else {
            throw CheckpointError(file: url.path, problem: .missingTensor(name))
        }
        return try shards[shard].floats(named: name)
    }

    public func floats(
        named name: String, into buffer: UnsafeMutableBufferPointer<Float>
    ) throws(CheckpointError) {
        guard let shard = owner[name] else {
            throw CheckpointError(file: url.path, problem: .missingTensor(name))
        }
        try shards[shard].floats(named: name, into: buffer)
    }

    private struct Index: Decodable {
        let weightMap: [String: String]
        enum CodingKeys: String, CodingKey { case weightMap = "weight_map" }
    }
}

public extension SafetensorsFile {
    /// The checkpoint in a Hugging Face model directory: `model.safetensors.index.json` with its
    /// shards when present, otherwise the single `model.safetensors`.
    /// - Throws: `.cannotOpen` naming the directory when it holds neither.
    static func open(directory: URL) throws(CheckpointError) -> any TensorSource {
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        if FileManager.default.fileExists(atPath: index.path) {
            return try ShardedTensorSource(index: index)
        }
        let single = directory.appendingPathComponent("model.safetensors")
        if FileManager.default.fileExists(atPath: single.path) {
            return try SafetensorsFile(url: single)
        }
        throw CheckpointError(file: directory.path, problem: .cannotOpen(
            "no model.safetensors or model.safetensors.index.json in the directory"))
    }
}
