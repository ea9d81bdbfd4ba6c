import ArgumentParser
import Foundation
import LocusModel
import LocusSteering

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a prompt greedily, printing the continuation as it is produced.")

    @OptionGroup var options: ModelOptions
    @Option(help: "Maximum number of new tokens.") var maxTokens: Int = 64
    @Flag(help: "Wrap the prompt in the ChatML user/assistant template.") var chat = false
    @Option(help: "A steering file from `locus steer`, applied at the positions it records.")
    var steering: String?
    @Option(parsing: .unconditional, help: "Multiplier of the steering edit (any sign: BiPO's ±k; 0 = unedited).") var scale: Float = 1
    @Argument(help: "The prompt.") var prompt: String

    func validate() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        guard scale.isFinite else { throw ValidationError("--scale must be finite") }
    }

    func run() throws {
        let lm = try options.load()
        let file = try steering.map { try SteeringLoading.load($0, for: lm) }
        // A file trained in a chat or custom template applies it to the prompt, as in training.
        let text: String
        if let file, file.promptTemplate.pattern != nil {
            if chat { printError("generate: --chat ignored: \(steering!) records its own prompt template (\(file.promptTemplate.rawValue)), applied instead") }
            text = file.promptTemplate.apply(to: prompt)
        } else {
            text = chat ? "<|im_start|>user\n\(prompt)<|im_end|>\n<|im_start|>assistant\n" : prompt
        }
        let ids = lm.tokenizer.encodePrompt(text)
        guard !ids.isEmpty else { throw ValidationError("the prompt has no tokens") }
        var produced: [Int] = []
        var printedScalars = 0
        func flush(final: Bool) {
            // A token may end inside a UTF-8 sequence (decoded as U+FFFD): wait for the rest.
            let scalars = lm.tokenizer.decode(produced).unicodeScalars
            guard final || scalars.last != "\u{FFFD}", scalars.count > printedScalars else { return }
            var text = String.UnicodeScalarView()
            text.append(contentsOf: scalars.dropFirst(printedScalars))
            FileHandle.standardOutput.write(Data(String(text).utf8))
            printedScalars = scalars.count
        }
        let hooks: [ActivationHook] =
            file?.scaled(by: scale).hooks(forPrompt: text, tokenCount: ids.count, tokenizer: lm.tokenizer) ?? []
        _ = try lm.model.generateGreedy(prompt: ids, maxTokens: maxTokens, hooks: hooks) { token in
            produced.append(token)
            flush(final: false)
        }
        flush(final: true)
        print()
        // The loop also ends at the model's context length: say so, rather than stop silently.
        let context = lm.config.contextLength
        if produced.count < maxTokens && ids.count + produced.count >= context {
            printError(
                "generate: stopped after \(produced.count) of --max-tokens \(maxTokens) new tokens: "
                    + "the prompt (\(ids.count) tokens) and the output filled the model's context of \(context) tokens")
        }
    }
}
