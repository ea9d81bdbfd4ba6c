import LocusCore
import ArgumentParser
import LocusModel
import LocusSteering
import LocusTensor

struct LogitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits", abstract: "Show the next-token logits after a prompt.")

    @OptionGroup var options: ModelOptions
    @Option(help: "How many of the highest logits to show.") var top: Int = 10
    @Flag(help: "Print one JSON object: ids, top, logsumexp.") var json = false
    @Option(help: "A steering file from `locus steer`, applied at the positions it records.")
    var steering: String?
    @Option(parsing: .unconditional, help: "Multiplier of the steering edit (any sign: BiPO's ±k; 0 = unedited).") var scale: Float = 1
    @Argument(help: "The prompt.") var prompt: String

    struct Entry {
        let id: Int
        let token: String
        let logit: Float
    }

    func validate() throws {
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
        guard scale.isFinite else { throw ValidationError("--scale must be finite") }
    }

    func run() throws {
        let lm = try options.load()
        let file = try steering.map { try SteeringLoading.load($0, for: lm) }
        // A file trained in a chat or custom template applies it to the prompt, as in training.
        let text = file?.promptTemplate.apply(to: prompt) ?? prompt
        let ids = lm.tokenizer.encodePrompt(text)
        guard !ids.isEmpty else { throw ValidationError("the prompt has no tokens") }
        let hooks: [ActivationHook] =
            file?.scaled(by: scale).hooks(forPrompt: text, tokenCount: ids.count, tokenizer: lm.tokenizer) ?? []
        let logits = try lm.model.forward([ids], hooks: hooks, logits: .last)
        let row = logits.last(sequence: 0)
        let lse = LogSoftmax.logSumExp(row.baseAddress!, count: row.count)
        let best = topIndices(row, count: min(top, row.count))
        let entries = best.map { Entry(id: $0, token: lm.tokenizer.decode([$0]), logit: row[$0]) }
        if json {
            printJSON(
                .object([
                    ("ids", .array(ids.map(JSONValue.int))),
                    (
                        "top",
                        .array(
                            entries.map {
                                .object([
                                    ("id", .int($0.id)), ("token", .string($0.token)),
                                    ("logit", .float($0.logit)),
                                ])
                            })
                    ),
                    ("logsumexp", .float(lse)),
                ]))
            return
        }
        print("\(ids.count) prompt tokens; log Σ exp(logits) = \(lse)")
        print("rank\tid\tlogit\tp\ttoken")
        for (rank, e) in entries.enumerated() {
            let p = (e.logit - lse).exponentiated
            print("\(rank + 1)\t\(e.id)\t\(e.logit)\t\(String(format: "%.4f", p))\t\(e.token.debugDescription)")
        }
    }
}

/// Indices of the `count` largest values, largest first (ties: lower index first).
func topIndices(_ row: UnsafeBufferPointer<Float>, count: Int) -> [Int] {
    var best: [Int] = []
    for i in 0..<row.count {
        if best.count == count, let last = best.last, row[i] <= row[last] { continue }
        let at = best.firstIndex { row[i] > row[$0] } ?? best.count
        best.insert(i, at: at)
        if best.count > count { best.removeLast() }
    }
    return best
}

extension Float {
    var exponentiated: Float { Float(Foundation.exp(Double(self))) }
}

import Foundation
import LocusExperiments
