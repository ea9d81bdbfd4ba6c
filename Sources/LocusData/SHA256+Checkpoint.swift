import Foundation

extension SHA256 {
    /// A checkpoint's identity: the sha256 of a file, or for a directory (Hugging Face layout)
    /// the sha256 of "name:sha256\n" lines for its config, tokenizer and safetensors files in
    /// name order.
    public static func hex(ofCheckpoint url: URL) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw DataError(file: url.path, problem: "checkpoint not found")
        }
        guard isDirectory.boolValue else { return try hex(ofFile: url) }
        let names = try FileManager.default.contentsOfDirectory(atPath: url.path).filter {
            $0.hasSuffix(".safetensors") || $0 == "config.json" || $0 == "tokenizer.json"
        }.sorted()
        var lines = ""
        for name in names {
            lines += "\(name):\(try hex(ofFile: url.appendingPathComponent(name)))\n"
        }
        return hex(Data(lines.utf8))
    }
}
