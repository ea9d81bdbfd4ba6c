import Foundation
import LocusTestSupport
import XCTest

/// Runs the built `locus` binary (release build beside the tests, `.build/*/locus`, or
/// $LOCUS_BINARY). A missing binary is a failure, not a skip: `swift test` builds it.
enum CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var output: String { stdout + stderr }
    }

    static func binary() throws -> URL {
        var candidates: [URL] = []
        if let env = ProcessInfo.processInfo.environment["LOCUS_BINARY"], !env.isEmpty {
            candidates.append(URL(fileURLWithPath: env))
        }
        for bundle in Bundle.allBundles.map(\.bundleURL) + [Bundle.main.bundleURL] {
            candidates += [bundle.deletingLastPathComponent(), bundle].map { $0.appendingPathComponent("locus") }
        }
        for config in ["release", "debug"] {
            candidates.append(TestEnvironment.packageRoot.appendingPathComponent(".build/\(config)/locus"))
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw TestFailure("locus binary not found (build it, or set LOCUS_BINARY): \(candidates.map(\.path))")
        }
        return found
    }

    /// Runs `locus ARGS` in `directory` with one BLAS thread and waits (stdin empty).
    @discardableResult
    static func run(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> Result {
        try run(executable: try binary(), arguments, in: directory, environment: environment)
    }

    static func run(
        executable: URL, _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]
    ) throws -> Result {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        if let directory { p.currentDirectoryURL = directory }
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = "1"
        for (k, v) in environment { env[k] = v }
        p.environment = env
        // Output goes to files (no pipe can fill and block a chatty command).
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("locus-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("out"), errURL = scratch.appendingPathComponent("err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        try out.close()
        try err.close()
        let outData = try Data(contentsOf: outURL), errData = try Data(contentsOf: errURL)
        return Result(
            status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// A Hugging Face directory of the tiny llama fixture (config.json, model.safetensors) with a
/// byte-level tokenizer.json (the 256 byte tokens, no merges, so every id fits its vocabulary).
enum TinyHFModel {
    static func make(in dir: URL) throws -> URL {
        let model = dir.appendingPathComponent("tiny-hf")
        try? FileManager.default.removeItem(at: model)
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        for name in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(
                at: TestEnvironment.tinyLlamaURL.appendingPathComponent(name), to: model.appendingPathComponent(name))
        }
        let source = TestEnvironment.packageRoot.appendingPathComponent("Tests/LocusTokenizerTests/Fixtures/tiny_tokenizer.json")
        guard var json = try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any],
            var bpe = json["model"] as? [String: Any], let vocab = bpe["vocab"] as? [String: Int]
        else { throw TestFailure("\(source.path) is not a tokenizer.json") }
        bpe["vocab"] = vocab.filter { $0.value < 256 }
        bpe["merges"] = [String]()
        json["model"] = bpe
        json["added_tokens"] = [Any]()
        try JSONSerialization.data(withJSONObject: json).write(to: model.appendingPathComponent("tokenizer.json"))
        return model
    }
}
