import LocusCore
import ArgumentParser
import LocusExperiments
import LocusModel

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tokenize text exactly as the model's reference tokenizer does (BOS first where the checkpoint adds it).")

    @OptionGroup var options: ModelOptions
    @Flag(help: "Print {\"ids\":[...]} only.") var json = false
    @Argument(help: "The text; special tokens such as <|im_start|> become their ids.")
    var text: String

    func run() throws {
        let lm = try options.load()
        let ids = lm.tokenizer.encodePrompt(text)
        if json {
            printJSON(.object([("ids", .array(ids.map(JSONValue.int)))]))
            return
        }
        print("\(ids.count) tokens")
        for id in ids { print("\(id)\t\(lm.tokenizer.tokenString(id))") }
    }
}
