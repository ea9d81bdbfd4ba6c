import Foundation

/// Opens whatever checkpoint `url` names:
/// - a directory: its safetensors checkpoint (`SafetensorsFile.open(directory:)`);
/// - a `*.index.json` file: the sharded safetensors checkpoint it indexes;
/// - a file starting with `GGUF`: a `GGUFFile`;
/// - a `.safetensors` file, or any file whose ninth byte opens a JSON object: a `SafetensorsFile`.
///
/// - Throws: `CheckpointError` naming the file; `.badMagic` when it is none of these.
public func openCheckpoint(_ url: URL) throws(CheckpointError) -> any TensorSource {
    if MappedFile.isDirectory(url) {
        return try SafetensorsFile.open(directory: url)
    }
    if url.lastPathComponent.hasSuffix(".index.json") {
        return try ShardedTensorSource(index: url)
    }
    let data = try MappedFile.map(url)
    // The shortest checkpoint header is 8 bytes (safetensors' length; GGUF's magic + version).
    guard data.count >= 8 else {
        throw CheckpointError(file: url.path, problem: .truncated(
            data.isEmpty
                ? "the file is empty (0 bytes), not a GGUF or safetensors checkpoint"
                : "the file has only \(data.count) bytes, shorter than any checkpoint header"))
    }
    let head = [UInt8](data.prefix(9))
    if head.starts(with: Array("GGUF".utf8)) {
        return try GGUFFile(url: url, data: data, mapped: true)
    }
    if url.pathExtension == "safetensors" || (head.count == 9 && head[8] == UInt8(ascii: "{")) {
        return try SafetensorsFile(url: url, data: data, mapped: true)
    }
    throw CheckpointError(file: url.path, problem: .badMagic(found: head.prefix(4).map {
        "0x" + String($0, radix: 16, uppercase: true)
    }.joined(separator: " ")))
}
