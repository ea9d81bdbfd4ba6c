// What every test target needs from the machine: the package root, the real checkpoint, the
// tiny fixture model, the shared data folder and scratch directories. One place, so the rule
// "a missing model or data set is a failure with instructions, never a skip" is written once.

import Foundation
import LocusData
import LocusModel
import LocusTensor
import LocusTokenizer
import XCTest

public enum TestEnvironment {
    /// The package root (this file is at Tests/LocusTestSupport/TestEnvironment.swift).
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The real SmolLM2 checkpoint: `$LOCUS_MODEL`, else `models/` in the package. Missing is a
    /// failure (CI fetches it with scripts/fetch-model.sh), not a skip.
    public static func modelURL() throws -> URL {
        let env = ProcessInfo.processInfo.environment["LOCUS_MODEL"] ?? ""
        let url =
            env.isEmpty
            ? packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf")
            : URL(fileURLWithPath: env)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TestFailure("\(url.path) is missing: run scripts/fetch-model.sh before the tests")
        }
        return url
    }

    nonisolated(unsafe) private static var loaded: (model: LanguageModel, fingerprint: UInt64)?

    /// The real model, loaded once per test process, with OpenBLAS pinned to one thread (the
    /// reference fixtures were made single-threaded; other counts differ in the last bits).
    ///
    /// Loading takes seconds, so the instance is shared; its weights are mutable, so every call
    /// first checks a fingerprint of all of them. If an earlier test changed the weights (an
    /// edit it did not undo), the shared copy is discarded, a fresh one is returned, and the
    /// calling test fails with a message saying so: no test ever reads another test's edits.
    public static func smolLM(file: StaticString = #filePath, line: UInt = #line) throws -> LanguageModel {
        BLAS.setThreadCount(1)
        if let (lm, fingerprint) = loaded {
            if weightFingerprint(lm.model) == fingerprint { return lm }
            loaded = nil
            XCTFail(
                "the shared SmolLM2 instance was modified by an earlier test (its weights changed"
                    + " and were not restored); reloaded a fresh copy", file: file, line: line)
        }
        let lm = try LanguageModel.load(from: try modelURL())
        loaded = (lm, weightFingerprint(lm.model))
        return lm
    }

    /// A hash of every weight's bits (FNV-1a over 64-bit words in four interleaved lanes, folded
    /// in order), to detect a shared model that a test edited in place. Each step is a bijection
    /// of the lane, so one changed word always changes its lane.
    public static func weightFingerprint(_ model: DecoderModel) -> UInt64 {
        let w = model.weights
        var buffers = [w.embedding, w.finalNorm, w.unembedding]
        for layer in w.layers {
            buffers += [layer.attentionNorm, layer.qkv, layer.output, layer.mlpNorm, layer.gateUp, layer.down]
        }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for buffer in buffers {
            let words = buffer.count / 2
            UnsafeRawPointer(buffer.pointer).withMemoryRebound(to: UInt64.self, capacity: words) { p in
                var lanes = SIMD4<UInt64>(repeating: hash)
                var i = 0
                while i + 4 <= words {
                    lanes = (lanes ^ SIMD4(p[i], p[i + 1], p[i + 2], p[i + 3])) &* 0x100_0000_01B3
                    i += 4
                }
                for lane in 0..<4 { hash = (hash ^ lanes[lane]) &* 0x100_0000_01B3 }
                while i < words {
                    hash = (hash ^ p[i]) &* 0x100_0000_01B3
                    i += 1
                }
            }
            if buffer.count % 2 == 1 {
                hash = (hash ^ UInt64(buffer.pointer[buffer.count - 1].bitPattern)) &* 0x100_0000_01B3
            }
        }
        return hash
    }

    /// The 2-layer random-weight llama fixture (vocabulary 256, width 64, 4 heads, 2 KV heads).
    public static var tinyLlamaURL: URL {
        packageRoot.appendingPathComponent("Tests/LocusModelTests/Fixtures/tiny-llama")
    }

    /// The stand-in TruthfulQA judge (`make_model_fixtures.py judge`): a tiny random llama with a
    /// SentencePiece tokenizer.json that has "▁yes" and "▁no", and its PyTorch reference.json.
    public static var tinyJudgeURL: URL {
        packageRoot.appendingPathComponent("Tests/LocusModelTests/Fixtures/tiny-judge")
    }

    /// A fresh load of the tiny llama (callers may edit its weights), one BLAS thread.
    public static func tinyLlama() throws -> DecoderModel {
        BLAS.setThreadCount(1)
        return try DecoderModel.load(from: tinyLlamaURL)
    }

    /// The tiny llama with a byte tokenizer, for methods that take text.
    public static func tinyLanguageModel() throws -> LanguageModel {
        LanguageModel(model: try tinyLlama(), tokenizer: ByteTokenizer(), url: tinyLlamaURL)
    }

    /// The BOS id of `tinyLanguageModel(addingBOS: true)`: byte 2, which no test text contains.
    public static let tinyBOS = 2

    /// The tiny llama with a byte tokenizer that adds BOS `tinyBOS` to every model input, as a
    /// LLaMA or Gemma checkpoint's tokenizer config asks.
    public static func tinyLanguageModel(addingBOS: Bool) throws -> LanguageModel {
        LanguageModel(
            model: try tinyLlama(), tokenizer: ByteTokenizer(bosID: addingBOS ? tinyBOS : nil),
            url: tinyLlamaURL)
    }

    /// The shared data folder (`$LOCUS_DATA` or ../shared/data).
    public static func dataLocation() throws -> DataLocation {
        try DataLocation.resolve(searchFrom: [packageRoot])
    }

    public static func truthfulQA() throws -> TruthfulQA { try TruthfulQA.load(from: try dataLocation()) }

    /// An empty scratch directory unique to this process and `name`.
    public static func temporaryDirectory(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "locus-tests-\(name)-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// One token per byte (the tiny model's vocabulary is 256), for tests without a real tokenizer.
/// With `bosID`, it stands for a checkpoint whose tokenizer config adds BOS (`addsBOS`).
public struct ByteTokenizer: Tokenizer {
    public let bosID: Int?
    public init(bosID: Int? = nil) { self.bosID = bosID }
    public var vocabularySize: Int { 256 }
    public var addsBOS: Bool { bosID != nil }
    public var eosID: Int? { nil }
    public func encode(_ text: String) -> [Int] { text.utf8.map(Int.init) }
    public func decode(_ ids: [Int]) -> String { String(decoding: ids.map(UInt8.init), as: UTF8.self) }
    public func tokenString(_ id: Int) -> String { String(UnicodeScalar(UInt8(id))) }
}

/// An error that fails a test with a message.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

/// Largest |a − b| over paired elements.
public func maxAbsDifference(_ a: some Collection<Float>, _ b: some Collection<Float>) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}
