import ArgumentParser

@main
struct Locus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "locus",
        abstract: "Find, optimise and test localized edits inside language models.",
        discussion: """
            Without --model, commands use the default model, \
            models/SmolLM2-135M-Instruct.Q4_1.gguf (fetch it with scripts/fetch-model.sh), \
            or the path in $LOCUS_MODEL.
            """,
        subcommands: [
            Inspect.self, Tokenize.self, LogitsCommand.self, Generate.self, Bench.self, Steer.self,
            Probe.self, Eval.self, Trace.self, Edit.self, Run.self, Report.self, Ablate.self, Scrub.self,
            Slurm.self,
        ])
}
