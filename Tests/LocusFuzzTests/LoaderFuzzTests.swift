import Foundation
import LocusCheckpoint
import LocusData
import LocusModel
import LocusRecipes
import LocusSteering
import LocusTensor
import LocusTestSupport
import LocusTokenizer
import XCTest

/// Seeded mutations of every file format Locus reads, each fed to its loader. The only allowed
/// outcomes are a load whose contents pass the checks below, or a thrown error that names the
/// file. A trap would kill this process, so the harness's "0 traps" is the absence of a crash;
/// before each case its description is written to `last-case.txt` (path printed) so a crash
/// can be replayed with `LOCUS_FUZZ_ONLY=<target>:<case>`.
///
/// Environment: `LOCUS_FUZZ_CASES` (default 2400, split across the targets by weight),
/// `LOCUS_FUZZ_SEED` (default 20261130), `LOCUS_FUZZ_ONLY` (`target` or `target:case`).
final class LoaderFuzzTests: XCTestCase {
    /// One fuzz target: a seed file, the file name it is written under, and the loader.
    struct Target {
        var name: String
        var weight: Int
        var seed: SeedFile
        /// Where the mutated bytes go, relative to the case directory (the loader gets `entry`).
        var fileName: String
        /// What is loaded: the file itself, or the directory it is in.
        var loadsDirectory = false
        /// Files written beside the mutated one, unchanged (e.g. config.json next to weights).
        var companions: [(String, [UInt8])] = []
        /// Loads and validates; throws the loader's error.
        var load: (URL) throws -> Void
    }

    struct Tally {
        var cases = 0, accepted = 0, rejected = 0
        var badErrors: [String] = []
        var invalidContents: [String] = []
    }

    func testMutatedInputsLoadValidatedOrFailWithAClearError() throws {
        let env = ProcessInfo.processInfo.environment
        let total = Int(env["LOCUS_FUZZ_CASES"] ?? "") ?? 2400
        let seed = UInt64(env["LOCUS_FUZZ_SEED"] ?? "") ?? 20_261_130
        let only = env["LOCUS_FUZZ_ONLY"].map { $0.split(separator: ":").map(String.init) }
        let scratch = try TestEnvironment.temporaryDirectory("fuzz")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let lastCase = scratch.appendingPathComponent("last-case.txt")
        let targets = try makeTargets(scratch: scratch)
        let weights = targets.map(\.weight).reduce(0, +)
        print("fuzz: seed \(seed), \(total) cases over \(targets.count) targets; a crash's case is in \(lastCase.path)")
        for target in targets {
            let dir = scratch.appendingPathComponent("seed-\(target.name)", isDirectory: true)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for (name, content) in target.companions { try Data(content).write(to: dir.appendingPathComponent(name)) }
            try Data(target.seed.bytes).write(to: dir.appendingPathComponent(target.fileName))
            do {
                try target.load(target.loadsDirectory ? dir : dir.appendingPathComponent(target.fileName))
            } catch {
                XCTFail("the unmutated seed of \(target.name) does not load: \(error)")
            }
        }
        let rssBefore = peakResidentMB()
        let started = Date()
        var all = Tally()
        for (t, target) in targets.enumerated() {
            if let only, only[0] != target.name { continue }
            let count = only?.count == 2 ? 1 : max(1, (total * target.weight + weights - 1) / weights)
            var tally = Tally()
            let targetStart = Date()
            // One directory per target; companions (unchanged) written once, the mutated file
            // overwritten by every case.
            let dir = scratch.appendingPathComponent("case-\(target.name)", isDirectory: true)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for (name, content) in target.companions {
                try Data(content).write(to: dir.appendingPathComponent(name))
            }
            for k in 0..<count {
                let index = only?.count == 2 ? Int(only![1]) ?? 0 : k
                var mutator = Mutator(seed: mix(seed, UInt64(t), UInt64(index)))
                let (bytes, description) = mutator.mutate(target.seed)
                let label = "\(target.name):\(index) (\(description))"
                try Data(label.utf8).write(to: lastCase)
                let file = dir.appendingPathComponent(target.fileName)
                try Data(bytes).write(to: file)
                let entry = target.loadsDirectory ? dir : file
                tally.cases += 1
                do {
                    try target.load(entry)
                    tally.accepted += 1
                } catch let failure as ContentFailure {
                    tally.invalidContents.append("\(label): \(failure.reason)")
                } catch {
                    tally.rejected += 1
                    let message = String(describing: error)
                    if !message.contains(entry.lastPathComponent) && !message.contains(file.lastPathComponent) {
                        tally.badErrors.append("\(label): \(message)")
                    }
                }
            }
            if env["LOCUS_FUZZ_VERBOSE"] != nil || only != nil {
                print(
                    "fuzz: \(target.name): \(tally.cases) cases, \(tally.rejected) rejected,"
                        + " \(tally.accepted) accepted, \(String(format: "%.2f", Date().timeIntervalSince(targetStart))) s")
            }
            all.cases += tally.cases
            all.accepted += tally.accepted
            all.rejected += tally.rejected
            all.badErrors += tally.badErrors
            all.invalidContents += tally.invalidContents
        }
        let seconds = Date().timeIntervalSince(started)
        let rssGrowth = peakResidentMB() - rssBefore
        print(
            "fuzz: \(all.cases) cases, 0 traps, \(all.rejected) rejected, \(all.accepted) accepted,"
                + " \(all.badErrors.count) errors without the file name, \(all.invalidContents.count)"
                + " accepted with invalid contents (seed \(seed), \(String(format: "%.1f", seconds)) s,"
                + " peak RSS +\(rssGrowth) MB)")
        for line in all.badErrors.prefix(10) { print("fuzz: error does not name the file: \(line)") }
        for line in all.invalidContents.prefix(10) { print("fuzz: invalid contents accepted: \(line)") }
        XCTAssertTrue(all.badErrors.isEmpty, "\(all.badErrors.count) errors do not name their file")
        XCTAssertTrue(all.invalidContents.isEmpty, "\(all.invalidContents.count) loads gave invalid contents")
        if only == nil { XCTAssertGreaterThanOrEqual(all.cases, min(total, 2000)) }
        // Largest seed is ~2 MB; no case may allocate more than a small multiple of the files.
        XCTAssertLessThan(rssGrowth, 1024, "peak resident memory grew by \(rssGrowth) MB")
    }

    /// A loaded file whose contents break an invariant the loader promises.
    struct ContentFailure: Error { var reason: String }

    static func check(_ condition: Bool, _ reason: @autoclosure () -> String) throws {
        if !condition { throw ContentFailure(reason: reason()) }
    }

    func makeTargets(scratch: URL) throws -> [Target] {
        let tinyDir = "Tests/LocusModelTests/Fixtures/tiny-llama/"
        let tinyWeights = try Seeds.bytes(tinyDir + "model.safetensors")
        let tinyConfig = try Seeds.bytes(tinyDir + "config.json")
        let quant = try Seeds.mapGGUF(name: "quant_fixture.gguf", try Seeds.bytes("Tests/LocusCheckpointTests/Fixtures/quant_fixture.gguf")).seed
        let recipe = try Seeds.bytes("Recipes/wv-fig2-quick.json")
        let tokenizer = try Seeds.bytes("Tests/LocusTokenizerTests/Fixtures/tiny_tokenizer.json")
        // SmolLM2's own tokenizer.json (exported by scripts/ensure-deps.sh; 2 MB, so few cases).
        let smolTokenizer = try Seeds.bytes("models/smollm2-tokenizer.json")
        return [
            Target(name: "gguf-fixture", weight: 16, seed: quant, fileName: "f.gguf", load: Self.loadGGUF),
            Target(name: "gguf-smollm2-header", weight: 2, seed: try Seeds.smolLMHeader(), fileName: "h.gguf",
                   load: Self.loadGGUFHeader),
            Target(name: "safetensors-tiny-llama", weight: 12, seed: Seeds.mapSafetensors(name: "model", tinyWeights),
                   fileName: "model.safetensors", loadsDirectory: true, companions: [("config.json", tinyConfig)],
                   load: Self.loadModel),
            Target(name: "config-json", weight: 10, seed: Seeds.text(name: "config", tinyConfig),
                   fileName: "config.json", loadsDirectory: true, companions: [("model.safetensors", tinyWeights)],
                   load: Self.loadModel),
            Target(name: "tokenizer-json", weight: 8, seed: Seeds.text(name: "tok", tokenizer),
                   fileName: "tokenizer.json", load: Self.loadTokenizer),
            Target(name: "tokenizer-json-smollm2", weight: 1, seed: Seeds.text(name: "smollm2", smolTokenizer),
                   fileName: "tokenizer.json", load: Self.loadTokenizer),
            Target(name: "preference-csv", weight: 9, seed: Seeds.text(name: "csv", Array(Seeds.preferenceCSV.utf8)),
                   fileName: "pairs.csv", load: Self.loadPreferences),
            Target(name: "preference-jsonl", weight: 9, seed: Seeds.text(name: "jsonl", Array(Seeds.preferenceJSONL.utf8)),
                   fileName: "pairs.jsonl", load: Self.loadPreferences),
            Target(name: "recipe", weight: 10, seed: Seeds.text(name: "recipe", recipe),
                   fileName: "recipe.json", load: Self.loadRecipe),
            Target(name: "steering-vectors", weight: 6, seed: try Seeds.steeringFile(rankOne: false, scratch: scratch),
                   fileName: "s.safetensors", load: Self.loadSteering),
            Target(name: "steering-rank-one", weight: 6, seed: try Seeds.steeringFile(rankOne: true, scratch: scratch),
                   fileName: "s.safetensors", load: Self.loadSteering),
        ]
    }

    // MARK: Loaders and what a successful load must satisfy

    /// Every tensor lies inside the file, tensors do not overlap, and reading each one gives its
    /// element count of values or a `CheckpointError`.
    static func loadGGUF(_ url: URL) throws {
        let file = try GGUFFile(url: url)
        var ranges: [Range<Int>] = []
        for info in file.tensorInfos {
            guard let bytes = info.byteCount else { continue }
            try check(info.offset >= file.dataOffset && info.offset + bytes <= file.fileSize,
                      "tensor \(info.name) \(info.offset)+\(bytes) outside the file (\(file.fileSize))")
            ranges.append(info.offset..<(info.offset + bytes))
        }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        for (a, b) in zip(ranges, ranges.dropFirst()) {
            try check(a.upperBound <= b.lowerBound, "tensor ranges \(a) and \(b) overlap")
        }
        for info in file.tensorInfos {
            do {
                let values = try file.floats(named: info.name)
                try check(values.count == info.elementCount, "\(info.name): \(values.count) values")
            } catch let error as CheckpointError {
                try check(error.file == url.path, "tensor error names \(error.file)")
            }
        }
        _ = try openCheckpoint(url)
    }

    /// The real model's metadata: its llama config validates and its tokenizer encodes and
    /// decodes text with ids inside the vocabulary.
    static func loadGGUFHeader(_ url: URL) throws {
        let file = try GGUFFile(url: url)
        let config = try ModelConfig(ggufMetadata: file.metadata, tensors: file)
        try config.validate(file: url.path)
        let tokenizer = BPETokenizer(vocabulary: try BPEVocabulary(gguf: file))
        try checkTokenizer(tokenizer)
    }

    /// A model directory (config.json + model.safetensors): it loads, and a forward pass gives
    /// finite logits (the forward pass throws otherwise).
    static func loadModel(_ url: URL) throws {
        let source = try SafetensorsFile(url: url.appendingPathComponent("model.safetensors"))
        var end = -1
        for info in source.tensorInfos {
            try check(end < 0 || info.offset == end, "tensor \(info.name) does not start where the last ended")
            end = info.offset + info.byteCount
        }
        let model = try DecoderModel.load(from: url)
        try model.config.validate(file: url.path)
        let n = min(3, model.config.contextLength)  // a valid config may allow fewer positions
        let logits = try model.forward([Array(1...n)], logits: .all)
        try check(logits.row(sequence: 0, position: n - 1).allSatisfy(\.isFinite), "non-finite logits returned")
    }

    static func loadTokenizer(_ url: URL) throws {
        try checkTokenizer(BPETokenizer(vocabulary: try BPEVocabulary(tokenizerJSON: url)))
    }

    static func checkTokenizer(_ tokenizer: BPETokenizer) throws {
        let text = "Hello, world! 123 <|end|> ça va? \u{1F600}\n\tend"
        let ids = tokenizer.encode(text)
        try check(ids.allSatisfy { (0..<tokenizer.vocabularySize).contains($0) }, "id outside the vocabulary")
        _ = tokenizer.decode(ids)
    }

    static func loadPreferences(_ url: URL) throws {
        let pairs = try PreferenceFile.load(url)
        for p in pairs {
            try check(!p.prompt.isEmpty && !p.chosen.isEmpty && !p.rejected.isEmpty, "empty field accepted")
            try check(p.group >= 0 && p.group < max(pairs.count, 1), "group \(p.group) of \(pairs.count) pairs")
        }
    }

    static func loadRecipe(_ url: URL) throws {
        let recipe = try Recipe.load(url)
        try check(!recipe.name.isEmpty && !recipe.methods.isEmpty, "recipe without name or methods")
    }

    static func loadSteering(_ url: URL) throws {
        let file = try SteeringFile.load(url)
        let p = file.parameters
        let stride = p.parameterization == .headVectors ? p.headWidth : 2 * p.headWidth
        try check(p.headWidth > 0, "head width \(p.headWidth)")
        try check(p.values.count == p.heads.count * stride, "\(p.values.count) values for \(p.heads.count) heads")
        try check(p.heads.allSatisfy { $0.layer >= 0 && $0.head >= 0 }, "negative head index")
    }

    // MARK: Helpers

    func mix(_ seed: UInt64, _ a: UInt64, _ b: UInt64) -> UInt64 {
        var g = SeededGenerator(seed: seed ^ (a &* 0x9E37_79B9_7F4A_7C15) ^ (b &* 0xBF58_476D_1CE4_E5B9))
        return g.next()
    }

    /// Peak resident set size of this process so far, in MB.
    func peakResidentMB() -> Int {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss / 1024
    }
}
