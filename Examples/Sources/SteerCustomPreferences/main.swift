// Records attention-head activations on a small hand-written preference list (polite vs curt
// replies), ranks heads by how far apart the chosen and rejected replies put them, trains one
// steering vector per chosen head with IPO on eight pairs and scores it on four held-out pairs.
// Answer log-probs are length-normalised (mean per token): the curt replies are shorter, so
// summed log-probs would prefer them whatever their tone.
//
// usage: steer-custom-preferences [MODEL] [--heads K] [--epochs N] [--seed S]
// MODEL defaults to $LOCUS_MODEL, else models/SmolLM2-135M-Instruct.Q4_1.gguf beside the Locus
// package. On SmolLM2-135M this takes well under a minute on one core.
import Foundation
import Locus

// MARK: Arguments

var arguments = Array(CommandLine.arguments.dropFirst())
@MainActor func option(_ name: String, default value: Int) -> Int {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let v = Int(arguments[i + 1])
    else { return value }
    arguments.removeSubrange(i...(i + 1))
    return v
}
let headCount = option("--heads", default: 4)
let epochs = option("--epochs", default: 4)
let seed = UInt64(option("--seed", default: 0))
let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let modelPath = arguments.first ?? ProcessInfo.processInfo.environment["LOCUS_MODEL"]
    ?? packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

// MARK: Data: a custom preference list (prompt, chosen, rejected), one group per pair

let replies: [(String, String, String)] = [
    ("Can you help me with my homework?", " Of course, I'd be glad to help. What is it about?", " No. Do it yourself."),
    ("Could you tell me the time?", " Certainly, it is a quarter past three.", " Look at a clock."),
    ("I lost my keys again.", " I'm sorry to hear that. Let's retrace your steps together.", " Not my problem."),
    ("Can I ask you a question?", " Please do, I'm happy to answer.", " If you must."),
    ("What should I cook tonight?", " How about a warm vegetable soup? It is easy and tasty.", " Whatever, I don't care."),
    ("I failed my driving test.", " That is hard. Many people pass on the second try, and you can too.", " Bad luck, you failed."),
    ("Can you explain this error to me?", " Gladly. Please paste the message and we'll look at it.", " Read the manual."),
    ("Thanks for your help yesterday.", " You're very welcome, it was a pleasure.", " Yeah, fine."),
    // Held out: never trained on.
    ("Could you recommend a book?", " With pleasure: 'The Hobbit' is a lovely read.", " Find one yourself."),
    ("I'm nervous about my interview.", " That's natural. You have prepared well, and I'm sure you'll do fine.", " Stop worrying."),
    ("Can you check my spelling?", " Sure, send it over and I'll go through it carefully.", " I'm busy."),
    ("My cat is sick.", " Oh no, I hope she feels better soon. Have you called a vet?", " Cats get sick."),
]
let pairs = replies.enumerated().map { PreferencePair(prompt: $1.0, chosen: $1.1, rejected: $1.2, group: $0) }
let trainPairs = Array(pairs.prefix(8)), heldOutPairs = Array(pairs.suffix(4))

// MARK: Model

let started = Date()
let lm = try LanguageModel.load(from: URL(fileURLWithPath: modelPath))
let config = lm.config
print("model \(lm.url.lastPathComponent): \(config.layerCount) layers × \(config.headCount) heads of width \(config.headWidth)")

// MARK: 1. Record head activations z[l, h] at the reply's last token

/// z at every layer's `.headOutput` site for one text's last token: (layers, heads · width).
@MainActor func lastTokenHeadOutputs(_ text: String) throws -> [[Float]] {
    let tokens = lm.tokenizer.encodePrompt(text)
    let sites = Set((0..<config.layerCount).map { ActivationSite.headOutput(layer: $0) })
    let recorder = ActivationRecorder(sites: sites, positions: .last)
    _ = try lm.model.forward([tokens], hooks: [recorder], logits: .none)
    return try (0..<config.layerCount).map { l in
        guard let z = recorder.vector(at: .headOutput(layer: l), position: tokens.count - 1) else {
            throw ModelError.emptySequence(index: 0)
        }
        return z  // (H·D,)
    }
}

// Score per head: ‖mean over training pairs of (z_chosen − z_rejected)‖ / mean ‖z‖ — how
// consistently the head separates the two kinds of reply.
let width = config.headWidth
var difference = [[Double]](repeating: [Double](repeating: 0, count: config.headCount * width), count: config.layerCount)
var norms = [[Double]](repeating: [Double](repeating: 0, count: config.headCount), count: config.layerCount)
for pair in trainPairs {
    let chosen = try lastTokenHeadOutputs(pair.prompt + pair.chosen)
    let rejected = try lastTokenHeadOutputs(pair.prompt + pair.rejected)
    for l in 0..<config.layerCount {
        for i in 0..<(config.headCount * width) { difference[l][i] += Double(chosen[l][i] - rejected[l][i]) }
        for h in 0..<config.headCount {
            let slice = (h * width)..<((h + 1) * width)
            let norm = { (z: [Float]) in z[slice].reduce(0.0) { $0 + Double($1 * $1) }.squareRoot() }
            norms[l][h] += (norm(chosen[l]) + norm(rejected[l])) / 2
        }
    }
}
var scored: [(head: AttentionHead, score: Double)] = []
for l in 0..<config.layerCount {
    for h in 0..<config.headCount {
        let d = difference[l][(h * width)..<((h + 1) * width)].reduce(0.0) { $0 + $1 * $1 }.squareRoot()
        scored.append((AttentionHead(layer: l, head: h), d / max(norms[l][h], 1e-12)))
    }
}
scored.sort { $0.score > $1.score }
let heads = scored.prefix(headCount).map(\.head).sorted()
print("recorded z at \(config.layerCount) layers for \(2 * trainPairs.count) replies; top \(headCount) heads by chosen−rejected separation:")
for (head, score) in scored.prefix(headCount) { print(String(format: "  %@  %.3f", head.description, score)) }

// MARK: 2. Train a steering vector at those heads (IPO), score held-out pairs

let configuration = SteeringConfiguration(
    headSelection: "custom: top \(headCount) by activation separation", heads: heads,
    promptTemplate: .bare, parameterization: .headVectors, positions: .afterPrefix,
    objective: .ipo(tau: 0.1), lengthNormalized: true, learningRate: 1e-2, epochs: epochs,
    batchSize: 4, seed: seed)
let trainer = SteeringTrainer(model: lm.model, configuration: configuration)
let tokenize = { (pairs: [PreferencePair]) in pairs.map { TokenizedPair($0, tokenizer: lm.tokenizer) } }
let train = tokenize(trainPairs), heldOut = tokenize(heldOutPairs)
var state = try trainer.initialState(train: train, validation: heldOut)
print(String(format: "before: held-out accuracy %.2f, margin %+.3f (margin is 0 by definition: π = π₀)",
             state.initialValidation.accuracy, state.initialValidation.margin))
state = try trainer.train(
    from: state, train: train, validation: heldOut,
    onEpoch: { s in
        if let e = s.curve.last {
            print(String(format: "epoch %d: train loss %.4f margin %+.3f | held-out loss %.4f margin %+.3f accuracy %.2f",
                         e.epoch, e.trainLoss, e.trainMargin, e.validation.loss, e.validation.margin,
                         e.validation.accuracy))
        }
    })
let reference = try trainer.logProbabilities(heldOut, steered: false)
let after = try trainer.evaluate(heldOut, reference: reference)
print(String(format: "after %d epochs: held-out margin %+.3f, accuracy %.2f (%d pairs, seed %d), %.1f s in all",
             epochs, after.margin, after.accuracy, heldOut.count, seed, Date().timeIntervalSince(started)))
