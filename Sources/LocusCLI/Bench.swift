import LocusCore
import ArgumentParser
import Foundation
import LocusExperiments
import LocusInterventions
import LocusModel
import LocusSteering
import LocusTensor
import LocusWeights

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure prefill and decode throughput (compare with scripts/bench/compare.sh).",
        subcommands: [Forward.self, Decode.self, SteerStep.self])

    struct Result {
        let benchmark: String
        let tokensPerSecond: Double
        let seconds: Double
        let runs: [Double]
        let batch: Int
        let tokens: Int
        let threads: Int
        let peakRSSMegabytes: Double
        let loadSeconds: Double
        /// Process CPU seconds (every thread) of each timed run; a shared machine distorts them
        /// less than wall time.
        var cpuRuns: [Double] = []
        let impl = "locus"
    }

    /// Times `body` once: (wall seconds, process CPU seconds).
    static func measure(_ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
        let t = Date(), c = processCPUSeconds()
        try body()
        return (Date().timeIntervalSince(t), processCPUSeconds() - c)
    }

    struct Forward: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prefill: B sequences of T tokens, logits at every position; median of runs.")
        @OptionGroup var options: ModelOptions
        @Option(help: "Sequences per batch.") var batch: Int = 4
        @Option(help: "Tokens per sequence.") var tokens: Int = 128
        @Option(help: "Timed runs (after one warm-up).") var runs: Int = 5
        @Option(help: "Seed of the random token ids.") var seed: UInt64 = 0
        @Flag(help: "Print one JSON object.") var json = false

        func run() throws {
            let start = Date()
            let lm = try options.load()
            let loadSeconds = Date().timeIntervalSince(start)
            var rng = SeededGenerator(seed: seed)
            let vocabulary = lm.config.vocabularySize
            let ids = (0..<batch).map { _ in
                (0..<tokens).map { _ in Int(rng.next() % UInt64(vocabulary)) }
            }
            _ = try lm.model.forward(ids, logits: .all)
            let measured = try (0..<runs).map { _ in
                try Bench.measure { _ = try lm.model.forward(ids, logits: .all) }
            }
            let times = measured.map(\.wall)
            let median = times.sorted()[times.count / 2]
            try Bench.report(
                Result(
                    benchmark: "forward", tokensPerSecond: Double(batch * tokens) / median,
                    seconds: median, runs: times, batch: batch, tokens: tokens,
                    threads: options.threads, peakRSSMegabytes: peakResidentMegabytes(),
                    loadSeconds: loadSeconds, cpuRuns: measured.map(\.cpu)), json: json)
        }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Greedy generation of N tokens from one short prompt (EOS ignored).")
        @OptionGroup var options: ModelOptions
        @Option(help: "New tokens to generate.") var tokens: Int = 64
        @Option(help: "Timed runs (after one warm-up).") var runs: Int = 3
        @Option(help: "The prompt.") var prompt = "The history of the city begins"
        @Flag(help: "Print one JSON object.") var json = false

        func run() throws {
            let start = Date()
            let lm = try options.load()
            let loadSeconds = Date().timeIntervalSince(start)
            let ids = lm.tokenizer.encodePrompt(prompt)
            func once() throws -> (wall: Double, cpu: Double) {
                try Bench.measure {
                    let out = try lm.model.generateGreedy(prompt: ids, maxTokens: tokens, stopTokens: [])
                    precondition(out.count == tokens)
                }
            }
            _ = try once()
            let measured = try (0..<runs).map { _ in try once() }
            let times = measured.map(\.wall)
            let median = times.sorted()[times.count / 2]
            try Bench.report(
                Result(
                    benchmark: "decode", tokensPerSecond: Double(tokens) / median,
                    seconds: median, runs: times, batch: 1, tokens: tokens,
                    threads: options.threads, peakRSSMegabytes: peakResidentMegabytes(),
                    loadSeconds: loadSeconds, cpuRuns: measured.map(\.cpu)), json: json)
        }
    }

    struct SteerStep: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "steer",
            abstract: "One IPO steering training step (forward + backward to the head vectors + Adam).",
            discussion: "Same shapes as scripts/bench/peer_steer.py: 2·pairs sequences of prompt + answer random ids.")
        @OptionGroup var options: ModelOptions
        @Option(help: "Preference pairs per step.") var pairs = 4
        @Option(help: "Prompt tokens.") var prompt = 24
        @Option(help: "Answer tokens.") var answer = 12
        @Option(help: "Random heads steered.") var heads = 16
        @Option(help: "Shared prefix tokens before every pair (the MC prompt's instruction + primer is ~220 for SmolLM2), never edited.")
        var sharedPrefix = 0
        @Flag(help: "Run the shared prefix with every sequence instead of continuing its cached keys and values.")
        var noPrefixCache = false
        @Flag(help: "Run each pair's prompt with both answers instead of once (the step before issue 14; same numbers).")
        var noSharedPrompts = false
        @Option(help: "Timed runs (after one warm-up).") var runs = 5
        @Option(help: "Seed of the ids and heads.") var seed: UInt64 = 0
        @Flag(help: "Print one JSON object.") var json = false

        func run() throws {
            let start = Date()
            let lm = try options.load()
            let loadSeconds = Date().timeIntervalSince(start)
            var rng = SeededGenerator(seed: seed)
            let v = UInt64(lm.config.vocabularySize)
            let ids = { (n: Int) in (0..<n).map { _ in Int(rng.next() % v) } }
            let batch = (0..<pairs).map { i in
                TokenizedPair(prompt: ids(prompt), chosen: ids(answer), rejected: ids(answer), group: i)
            }
            let chosen = try HeadSetSelection.random(count: heads, seed: seed).resolve(in: lm.config)
            let trainer = SteeringTrainer(
                model: lm.model,
                configuration: SteeringConfiguration(
                    headSelection: "random:\(heads):\(seed)", heads: chosen, batchSize: pairs,
                    gradientClipNorm: nil),
                sharedPrefix: ids(sharedPrefix))
            trainer.reusesPrefixCache = !noPrefixCache
            trainer.sharesPairPrompts = !noSharedPrompts
            let reference = try trainer.logProbabilities(batch, steered: false)
            var cpu: [Double] = []
            func once(_ i: Int) throws -> Double {
                let t = Date(), c = processCPUSeconds()
                _ = try trainer.step(batch, reference: reference, learningRate: 5e-4, stepIndex: i)
                cpu.append(processCPUSeconds() - c)
                return Date().timeIntervalSince(t)
            }
            _ = try once(0)
            cpu = []
            let times = try (1...runs).map(once)
            // CPU seconds per step (all threads): less sensitive than wall time to a shared machine.
            FileHandle.standardError.write(
                "steer: median CPU seconds per step \(String(format: "%.3f", cpu.sorted()[cpu.count / 2]))\n"
                    .data(using: .utf8)!)
            let median = times.sorted()[times.count / 2]
            try Bench.report(
                Result(
                    benchmark: "steer", tokensPerSecond: Double(2 * pairs * (prompt + answer)) / median,
                    seconds: median, runs: times, batch: 2 * pairs, tokens: prompt + answer,
                    threads: options.threads, peakRSSMegabytes: peakResidentMegabytes(),
                    loadSeconds: loadSeconds), json: json)
        }
    }

    static func report(_ result: Result, json: Bool) throws {
        if json {
            let cpu: [(String, JSONValue)] =
                result.cpuRuns.isEmpty
                ? []
                : [
                    ("cpu_seconds", .double(result.cpuRuns.sorted()[result.cpuRuns.count / 2])),
                    ("cpu_runs", .array(result.cpuRuns.map(JSONValue.double))),
                ]
            printJSON(
                .object([
                    ("tokens_per_second", .double(result.tokensPerSecond)),
                    ("benchmark", .string(result.benchmark)), ("impl", .string(result.impl)),
                    ("seconds", .double(result.seconds)), ("runs", .array(result.runs.map(JSONValue.double))),
                    ("batch", .int(result.batch)), ("tokens", .int(result.tokens)),
                    ("threads", .int(result.threads)), ("peak_rss_mb", .double(result.peakRSSMegabytes)),
                    ("load_seconds", .double(result.loadSeconds)),
                    ("activation_quantization", .string(WeightMatrix.activationQuantization.rawValue)),
                ] + cpu))
            return
        }
        print(
            "\(result.benchmark): \(String(format: "%.1f", result.tokensPerSecond)) tokens/s "
                + "(median of \(result.runs.count) runs, \(String(format: "%.3f", result.seconds)) s; "
                + "batch \(result.batch) × \(result.tokens) tokens, \(result.threads) threads; "
                + "peak RSS \(String(format: "%.0f", result.peakRSSMegabytes)) MB)")
    }
}

/// CPU time (user + system, every thread) this process has used, in seconds.
func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Peak resident set size of this process in MB (Linux reports ru_maxrss in KiB).
func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}
