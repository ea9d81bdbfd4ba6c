import ArgumentParser
import Foundation
import LocusCore
import LocusModel
import LocusRecipes
import LocusTensor
import LocusWeights

/// Options every model-running command shares.
struct ModelOptions: ParsableArguments {
    @Option(help: "A GGUF file or a Hugging Face directory (config.json + safetensors).")
    var model: String?

    @Option(help: """
        Worker threads for BLAS (results differ in the last bits between counts; default \
        $SLURM_CPUS_PER_TASK, else the CPUs this process may use).
        """)
    var threads: Int = BatchEnvironment.defaultThreads()

    @Option(help: ArgumentHelp(
        "How weight matrices are kept: stored (the checkpoint's type, memory-mapped, quantised "
            + "kernels) or f32 (dequantised at load; the parity reference).",
        valueName: "stored|f32"))
    var weights: WeightStorage = .stored

    @Option(help: ArgumentHelp(
        "Which products of quantised (--weights stored) matrices quantise the activation to 8 bits "
            + "per 32 values, llama.cpp's scheme: decode (one-row products: generation; prefill, "
            + "scoring and backward stay fp32 — the default), all (prefill and scoring too, by the "
            + "int8 GEMM: faster on large quantised models, logits then carry the decode tolerance) "
            + "or none (every product fp32: parity with --weights f32). Default: "
            + "$LOCUS_ACTIVATION_QUANTIZATION, else decode.",
        valueName: "decode|all|none"))
    var activationQuantization: ActivationQuantization = .fromEnvironment()

    static let defaultModelName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    /// The checkpoint to use: --model, then $LOCUS_MODEL, then models/<default> in the current
    /// directory or any parent, or next to the executable's package.
    func resolvedURL() throws -> URL {
        if let model { return URL(fileURLWithPath: model) }
        if let env = ProcessInfo.processInfo.environment["LOCUS_MODEL"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        var starts = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        starts.append(Workdir.executable.deletingLastPathComponent())
        for start in starts {
            var dir = start.standardizedFileURL
            for _ in 0..<6 {
                let candidate = dir.appendingPathComponent("models/\(Self.defaultModelName)")
                if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
                dir.deleteLastPathComponent()
            }
        }
        throw ValidationError(
            "no --model given and models/\(Self.defaultModelName) not found: "
                + "run scripts/fetch-model.sh, or pass --model PATH")
    }

    /// The numerics settings a result depends on, for JSON records.
    var numericsRecord: [(String, JSONValue)] {
        [("weights", .string(weights.rawValue)),
         ("activation_quantization", .string(activationQuantization.rawValue))]
    }

    /// Sets the thread count and the activation quantisation, and loads model and tokenizer.
    func load() throws -> LanguageModel {
        BLAS.setThreadCount(threads)
        WeightMatrix.activationQuantization = activationQuantization
        return try LanguageModel.load(from: resolvedURL(), weights: weights)
    }
}

extension WeightStorage: ExpressibleByArgument {}
extension ActivationQuantization: ExpressibleByArgument {}
