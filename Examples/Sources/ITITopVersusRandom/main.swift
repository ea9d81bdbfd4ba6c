// Inference-time intervention (ITI, Li et al. 2023) on a handful of TruthfulQA questions: collect
// z[l, h] at the last token of every mc2 choice, train a logistic probe per head on fold 0's
// training questions, then shift the top-K heads (ranked by validation accuracy) along their
// mass-mean directions, α·σ·θ, and compare TruthfulQA MC1/MC2 on fold 0's held-out questions
// with the unedited model and with K random heads (the same directions' recipe, seeded).
//
// usage: iti-top-vs-random [MODEL] [--questions N] [--k K] [--alpha A] [--seed S] [--eval N]
// Data: $LOCUS_DATA, else the shared data folder found above this package (DATA.md).
// With the defaults (60 questions, K = 8, 12 evaluated) about a minute on SmolLM2-135M.
import Foundation
import Locus

var arguments = Array(CommandLine.arguments.dropFirst())
@MainActor func option(_ name: String, default value: Double) -> Double {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count,
        let v = Double(arguments[i + 1])
    else { return value }
    arguments.removeSubrange(i...(i + 1))
    return v
}
let questionCount = Int(option("--questions", default: 60))
let k = Int(option("--k", default: 8))
let alpha = option("--alpha", default: 15)
let seed = UInt64(option("--seed", default: 0))
let evaluated = Int(option("--eval", default: 12))
let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let modelPath = arguments.first ?? ProcessInfo.processInfo.environment["LOCUS_MODEL"]
    ?? packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

let started = Date()
let lm = try LanguageModel.load(from: URL(fileURLWithPath: modelPath))
let data = try DataLocation.resolve(searchFrom: [packageRoot])
var tqa = try TruthfulQA.load(from: data)
tqa.questions = Array(tqa.questions.prefix(questionCount))
print("model \(lm.url.lastPathComponent); TruthfulQA questions 0..<\(tqa.count) from \(data.root.path)")

// 1. Head activations at the last token of "Q: … A: …" for every mc2 choice.
let samples = ProbeSample.truthfulQA(tqa)
let activations = try HeadActivationCollector(model: lm).collect(
    samples, format: .iti, modelFile: lm.url.path, modelSHA256: "not hashed (example)")
print(String(format: "collected z for %d samples (%d tokens) in %.1f s", samples.count,
             activations.header.tokenCount, activations.header.seconds))

// 2. A probe per head and fold (2 question folds, seeded); fold 0's ranking picks the heads.
let settings = ProbeSettings(seed: seed, foldCount: 2, validationFraction: 0.2, c: 1, topK: k, directionData: .train)
let ranking = try HeadProber.run(
    activations, settings: settings, modelFile: lm.url.path,
    cacheDirectory: FileManager.default.temporaryDirectory.path)
let fold = ranking.folds[0]
let top = fold.heads.prefix(k).map(\.id)
let random = HeadSetSelection.randomHeads(
    k, in: ModelShape(layerCount: ranking.layerCount, headCount: ranking.headCount), seed: seed)
print("top \(k) heads (fold 0 validation accuracy): "
      + fold.heads.prefix(k).map { String(format: "%@ %.2f", $0.id.description, $0.accuracy) }.joined(separator: ", "))
print("random \(k) heads (seed \(seed)): " + random.map(\.description).joined(separator: " "))

// 3. MC1/MC2 on fold 0's held-out questions (never used to train or rank the probes).
let heldOut = Array(fold.heldOutQuestions.sorted().prefix(evaluated)).map { tqa.questions[$0] }
let evaluator = try MultipleChoiceEvaluator(model: lm)
@MainActor func score(_ heads: [AttentionHead]?, _ name: String) throws -> MultipleChoiceMetrics {
    var intervention: Intervention? = nil
    if let heads {
        let edit = try ITIEdit.make(
            ranking: ranking, fold: 0, heads: heads, direction: .massMean, alpha: alpha, selection: name)
        intervention = .standard(name: "ITI \(name)") { [edit.hook(positions: $0)] }
    }
    let run = try evaluator.evaluate(heldOut, intervention: intervention)
    print(String(format: "%-22@ MC1 %.3f  MC2 %.3f", name as NSString, run.mean.mc1, run.mean.mc2))
    return run.mean
}
print("\(heldOut.count) held-out questions, α = \(alpha), mass-mean directions:")
let unedited = try score(nil, "unedited")
let topScore = try score(top, "top-\(k)")
let randomScore = try score(random, "random-\(k)")
print(String(format: "MC2 change: top-%d %+.3f, random-%d %+.3f (%.0f s in all; a handful of questions: an illustration, not a result)",
             k, topScore.mc2 - unedited.mc2, k, randomScore.mc2 - unedited.mc2, Date().timeIntervalSince(started)))
