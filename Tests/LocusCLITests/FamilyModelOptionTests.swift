import Foundation
import LocusTestSupport
import XCTest

/// `--model` takes every family's Hugging Face directory (the random transformers fixtures of
/// `scripts/reference/make_family_fixtures.py`), and `locus inspect` names the family.
final class FamilyModelOptionTests: XCTestCase {
    static let families: [(folder: String, printed: String)] = [
        ("llama", "model: llama [llama"), ("qwen2", "model: qwen2 [Qwen2]"),
        ("gemma3", "model: gemma3 [Gemma-3]"), ("gpt2", "model: gpt2 [GPT-2]"), ("gptj", "model: gptj [GPT-J]"),
    ]

    func folder(_ family: String) -> String {
        TestEnvironment.packageRoot.appendingPathComponent("Tests/LocusModelTests/Fixtures/families/\(family)").path
    }

    func testInspectNamesEveryFamily() throws {
        for (family, printed) in Self.families {
            let r = try CLI.run(["inspect", "--model", folder(family), "--threads", "1"])
            XCTAssertEqual(r.status, 0, "\(family): \(r.output)")
            XCTAssertTrue(r.stdout.contains(printed), "\(family): \(r.stdout)")
            XCTAssertEqual(r.stdout.contains("block: parallel"), family == "gptj", "\(family): \(r.stdout)")
        }
    }

    /// GPT-2's F16 GGUF: the family, every parameter (wte 274·64 + wpe 32·64 + 2 layers of
    /// (two LayerNorms 4·64, c_attn 64·192 + 192, c_proj 64·64 + 64, c_fc 64·128 + 128,
    /// mlp c_proj 128·64 + 64) + ln_f 2·64 = 86,656, as transformers counts the fixture), and the
    /// matrices kept F16.
    func testInspectReadsGPT2GGUF() throws {
        let r = try CLI.run(["inspect", "--model", folder("gpt2") + "/gpt2-f16.gguf", "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.output)
        for expected in [
            "general.architecture: \"gpt2\"", "model: gpt2 [GPT-2]", "(86656 parameters;",
            "layer matrices kept as: F16×8; embedding F16 (tied)",
        ] {
            XCTAssertTrue(r.stdout.contains(expected), "\(expected) in \(r.stdout)")
        }
    }

    /// A model-reading command of each kind (tokenizer, logits, generation, a method) on every
    /// family: they share `ModelOptions`, so each accepts every family the loader does.
    func testModelOptionAcceptsEveryFamily() throws {
        for (family, _) in Self.families {
            let model = folder(family)
            for arguments in [
                ["tokenize", "--model", model, "--json", "ab cd"],
                ["logits", "--model", model, "--threads", "1", "--top", "3", "--json", "ab cd"],
                ["generate", "--model", model, "--threads", "1", "--max-tokens", "3", "ab cd"],
                [
                    "trace", "--model", model, "--threads", "1", "--prompt", "ab cd ef", "--subject", "cd",
                    "--samples", "2", "--window", "1", "--noise-basis", "matrix", "--kinds", "hidden",
                ],
            ] {
                let r = try CLI.run(arguments)
                XCTAssertEqual(r.status, 0, "\(family) \(arguments[0]): \(r.output)")
                XCTAssertFalse(r.stdout.isEmpty, "\(family) \(arguments[0])")
            }
        }
    }
}
