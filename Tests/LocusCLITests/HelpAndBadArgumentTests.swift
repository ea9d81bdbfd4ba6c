import Foundation
import XCTest

/// Every subcommand and sub-subcommand answers `--help` (exit 0, usage printed) and refuses a
/// bad argument with a non-zero exit and a message that names the option (issue 10). The
/// command tree is read from the help text itself, so a new subcommand is covered without
/// editing this test; the known commands are a floor, so a broken discovery cannot pass.
final class HelpAndBadArgumentTests: XCTestCase {
    static let knownLeaves: Set<String> = [
        "inspect", "tokenize", "logits", "generate", "bench forward", "bench decode", "bench steer", "steer",
        "probe", "eval truthfulqa", "eval counterfact", "trace", "edit rome", "edit ft", "edit counterfact",
        "edit recipe", "run", "report", "ablate", "scrub", "slurm submit", "slurm status", "slurm resubmit", "slurm merge",
    ]

    static let validValues = ["--heads": "all", "--shards": "3"]

    /// Subcommand names listed under "SUBCOMMANDS:" in a help text.
    func subcommands(inHelp text: String) -> [String] {
        guard let range = text.range(of: "SUBCOMMANDS:") else { return [] }
        var names: [String] = []
        for line in text[range.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).dropFirst() {
            if line.trimmingCharacters(in: .whitespaces).isEmpty { break }
            guard line.hasPrefix("  "), !line.hasPrefix("                ") else { continue }
            if let name = line.split(separator: " ").first, name.first?.isLetter == true {
                names.append(String(name))
            }
        }
        return names
    }

    /// Placeholders for the required parts of a help text's usage line (`--heads <heads>` →
    /// `--heads x`, `<prompt>` → `x`); bracketed parts are optional and skipped.
    func requiredPlaceholders(inHelp text: String) -> [String] {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("USAGE:") }) else { return [] }
        var out: [String] = []
        var depth = 0
        var valueGiven = false
        for token in line.split(separator: " ").dropFirst() {
            let opens = token.filter { $0 == "[" }.count, closes = token.filter { $0 == "]" }.count
            defer { depth += opens - closes }
            guard depth == 0, opens == 0 else { continue }
            if token.hasPrefix("--") {
                out.append(String(token))
                // A value that passes validate(), where one is checked there.
                valueGiven = Self.validValues[String(token)] != nil
                if let value = Self.validValues[String(token)] { out.append(value) }
            } else if token.hasPrefix("<"), token != "<options>" {
                if !valueGiven { out.append("x") }
                valueGiven = false
            }
        }
        return out
    }

    /// Every command path (`eval truthfulqa`), and the leaves among them.
    func commandTree() throws -> (all: [[String]], leaves: [[String]]) {
        var all: [[String]] = [], leaves: [[String]] = []
        var queue: [[String]] = [[]]
        while let path = queue.first {
            queue.removeFirst()
            let help = try CLI.run(path + ["--help"])
            XCTAssertEqual(help.status, 0, "locus \(path.joined(separator: " ")) --help: \(help.output)")
            XCTAssertTrue(help.output.contains("USAGE:"), "locus \(path.joined(separator: " ")) --help: \(help.output)")
            let children = subcommands(inHelp: help.output).filter { $0 != "help" }
            if !path.isEmpty { all.append(path) }
            if children.isEmpty { leaves.append(path) } else { queue += children.map { path + [$0] } }
        }
        return (all, leaves)
    }

    func testEveryCommandHasHelpAndRejectsAnUnknownOption() throws {
        let tree = try commandTree()
        let leaves = Set(tree.leaves.map { $0.joined(separator: " ") })
        XCTAssertTrue(Self.knownLeaves.isSubset(of: leaves), "missing: \(Self.knownLeaves.subtracting(leaves))")
        for path in tree.all {
            let name = path.joined(separator: " ")
            // Required options and arguments get placeholders, so the unknown option is the error.
            let help = try CLI.run(path + ["--help"])
            let r = try CLI.run(path + requiredPlaceholders(inHelp: help.output) + ["--no-such-option", "3"])
            XCTAssertNotEqual(r.status, 0, "locus \(name) --no-such-option")
            XCTAssertTrue(r.stderr.contains("--no-such-option"), "locus \(name): \(r.stderr)")
        }
    }

    /// A bad value of a real option: non-zero exit, and the message names that option (checked
    /// in `validate()`, so no model is loaded).
    func testBadOptionValuesNameTheOption() throws {
        let cases: [([String], String)] = [
            (["inspect", "--threads", "0"], "--threads"),
            (["generate", "--max-tokens", "0", "hi"], "--max-tokens"),
            (["logits", "--top", "0", "hi"], "--top"),
            (["steer", "--heads", "L0H0", "--epochs", "0"], "--epochs"),
            (["steer", "--heads", "L0H0", "--batch-size", "0"], "--batch-size"),
            (["steer", "--heads", "L0H0", "--tau", "0"], "--tau"),
            (["steer", "--heads", "L0H0", "--beta=-1"], "--beta"),
            (["steer", "--heads", "L0H0", "--lr=-0.001"], "--lr"),
            (["steer", "--heads", "L0H0", "--lr", "inf"], "--lr"),
            (["steer", "--heads", "L0H0", "--clip=-1"], "--clip"),
            (["steer", "--heads", "L0H0", "--weight-decay=-0.1"], "--weight-decay"),
            (["steer", "--heads", "L0H0", "--columns", "a,b"], "--columns"),
            (["steer", "--heads", "L0H0", "--loss", "kto"], "--loss"),
            (["probe", "--folds", "1"], "--folds"),
            (["eval", "truthfulqa", "--k", "0"], "--k"),
            (["run", "x.json", "--shard", "2/2"], "--shard"),
            (["report", "x.jsonl", "--resamples", "0"], "--resamples"),
            (["ablate", "--kind", "erase"], "--kind"),
            (["ablate", "--count", "0"], "--count"),
            (["scrub", "h.json", "--depth", "0"], "--depth"),
            (["scrub", "h.json", "--draws", "0"], "--draws"),
            (["scrub", "h.json", "--length=-2"], "--length"),
        ]
        for (arguments, option) in cases {
            let r = try CLI.run(arguments)
            XCTAssertNotEqual(r.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(option), "\(arguments.joined(separator: " ")): \(r.stderr)")
        }
    }
}
