import Foundation
import LocusData
import LocusSteering
import LocusTestSupport
import XCTest

/// `locus steer` and `locus eval preferences` on preference files as a BiPO user has them
/// (issue 15): malformed rows, the chat template, the residual parameterisation, `--scale`,
/// `--validation-data`, the data file's sha256 — on the tiny llama as a Hugging Face directory
/// whose tokenizer_config.json carries a ChatML chat template.
final class PreferenceEvaluationCLITests: XCTestCase {
    var dir: URL!
    var model: URL!
    static let chatML = #"{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nS.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"#

    override func setUpWithError() throws {
        dir = try TestEnvironment.temporaryDirectory("cli-prefs-\(name.filter(\.isLetter))")
        model = try TinyHFModel.make(in: dir)
        let config = try JSONSerialization.data(withJSONObject: ["chat_template": Self.chatML])
        try config.write(to: model.appendingPathComponent("tokenizer_config.json"))
    }

    /// A BiPO-shaped CSV (question, matching, not_matching) of `rows` questions; `bad` lists
    /// 0-based rows written malformed (an empty question, as in BiPO's own train.csv).
    func csv(_ name: String, rows: Int, first: Int = 0, bad: Set<Int> = []) throws -> URL {
        var lines = ["question,matching,not_matching"]
        for r in 0..<rows {
            let q = bad.contains(r) ? "" : "Lead team \(first + r)?"
            lines.append("\"\(q)\",Yes.,\"No, never.\"")
        }
        let url = dir.appendingPathComponent(name)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
        return url
    }

    func run(_ args: [String]) throws -> CLI.Result { try CLI.run(args + ["--model", model.path, "--threads", "1"]) }

    func json(_ r: CLI.Result) throws -> [String: Any] {
        let line = try XCTUnwrap(r.stdout.split(separator: "\n").last, r.output)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], r.output)
    }

    func assertFails(_ r: CLI.Result, mentioning parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(r.status, 0, r.output, file: file, line: line)
        for p in parts { XCTAssertTrue(r.stderr.contains(p), "'\(p)' not in: \(r.stderr)", file: file, line: line) }
        XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr, file: file, line: line)
    }

    func testSteerResidualInChatTemplateThenEvaluateHeldOutCSVAndJSONL() throws {
        let train = try csv("train.csv", rows: 12, bad: [3, 7])
        let steerArgs = [
            "steer", "--data", train.path, "--columns", "question,matching,not_matching", "--parameterization", "residual",
            "--layer", "1", "--prompt-template", "chat", "--epochs", "1", "--batch-size", "2", "--lr", "0.05",
            "--output", dir.appendingPathComponent("s.safetensors").path,
        ]
        // Without --skip-invalid-rows the first bad row fails the run, naming file and line.
        assertFails(try run(steerArgs), mentioning: ["train.csv:5: empty prompt"])
        let trained = try run(steerArgs + ["--skip-invalid-rows"])
        XCTAssertEqual(trained.status, 0, trained.output)
        XCTAssertTrue(trained.stderr.contains("2 malformed rows skipped (lines 5, 9"), trained.stderr)
        XCTAssertTrue(trained.stderr.contains("π₀ log-probs"), "the π₀ pass shows progress: \(trained.stderr)")
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("s.json"))) as! [String: Any]
        let sha = SHA256.hex(try Data(contentsOf: train))
        XCTAssertEqual(record["dataFileSHA256"] as? String, sha)
        XCTAssertEqual((record["skippedRows"] as? [[String: Any]])?.compactMap { $0["line"] as? Int }, [5, 9])
        XCTAssertEqual(record["promptTemplate"] as? String, "chat")
        let file = try SteeringFile.load(dir.appendingPathComponent("s.safetensors"))
        XCTAssertEqual(file.parameters.residualLayer, 1)
        XCTAssertEqual(file.dataSHA256, sha)
        XCTAssertEqual(file.objective, .ipo(tau: 0.1))
        XCTAssertEqual(file.promptTemplate, .chat(pattern: "<|im_start|>system\nS.<|im_end|>\n<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"))

        // Held-out CSV: 6 new questions, one malformed.
        let test = try csv("test.csv", rows: 6, first: 100, bad: [2])
        let steering = dir.appendingPathComponent("s.safetensors").path
        let evalArgs = ["eval", "preferences", "--data", test.path, "--columns", "question,matching,not_matching", "--steering", steering, "--json"]
        assertFails(try run(evalArgs), mentioning: ["test.csv:4: empty prompt"])
        let scored = try json(try run(evalArgs + ["--skip-invalid-rows"]))
        XCTAssertEqual(scored["pairs"] as? Int, 5)
        XCTAssertEqual(scored["skipped_rows"] as? Int, 1)
        XCTAssertEqual(scored["skipped_lines"] as? [Int], [4])
        XCTAssertEqual(scored["prompt_template"] as? String, "chat", "the steering file's template")
        XCTAssertEqual(scored["parameterization"] as? String, "residual")
        XCTAssertEqual(scored["data_sha256"] as? String, SHA256.hex(try Data(contentsOf: test)))
        let margin = try XCTUnwrap(scored["margin"] as? Double)
        XCTAssertNotEqual(margin, 0, "the edit moves the held-out log-probs")
        let loss = try XCTUnwrap(scored["loss"] as? Double)
        XCTAssertTrue(loss.isFinite && loss >= 0)
        let accuracy = try XCTUnwrap(scored["accuracy"] as? Double)
        XCTAssertTrue((0...1).contains(accuracy))
        // --scale 0 is the unedited model; no steering file: margin 0, no loss.
        let zero = try json(try run(evalArgs + ["--skip-invalid-rows", "--scale", "0"]))
        XCTAssertEqual(zero["margin"] as? Double, 0)
        XCTAssertEqual(zero["accuracy"] as? Double, zero["reference_accuracy"] as? Double)
        let plain = try json(try run(["eval", "preferences", "--data", test.path, "--columns", "question,matching,not_matching", "--skip-invalid-rows", "--prompt-template", "chat", "--json"]))
        XCTAssertEqual(plain["margin"] as? Double, 0)
        XCTAssertTrue(plain["loss"] is NSNull)
        XCTAssertEqual(plain["accuracy"] as? Double, zero["accuracy"] as? Double)
        // The opposite direction (BiPO's −1 multiplier) moves the margin the other way here.
        let negative = try json(try run(evalArgs + ["--skip-invalid-rows", "--scale", "-1"]))
        XCTAssertNotEqual(negative["margin"] as? Double, margin)

        // The same pairs as JSON Lines with a malformed line.
        var lines: [String] = []
        for r in 0..<5 {
            lines.append(#"{"question": "Lead team \#(200 + r)?", "matching": "Yes.", "not_matching": "No, never."}"#)
        }
        lines.insert("{not json", at: 2)
        let jsonl = dir.appendingPathComponent("test.jsonl")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: jsonl)
        let jsonlArgs = ["eval", "preferences", "--data", jsonl.path, "--columns", "question,matching,not_matching", "--steering", steering, "--json"]
        assertFails(try run(jsonlArgs), mentioning: ["test.jsonl:3: not a JSON object"])
        let fromJSONL = try json(try run(jsonlArgs + ["--skip-invalid-rows"]))
        XCTAssertEqual(fromJSONL["pairs"] as? Int, 5)
        XCTAssertEqual(fromJSONL["skipped_lines"] as? [Int], [3])

        // Scoring the training file itself says so.
        let onTrain = try run(["eval", "preferences", "--data", train.path, "--columns", "question,matching,not_matching", "--skip-invalid-rows", "--steering", steering])
        XCTAssertEqual(onTrain.status, 0, onTrain.output)
        XCTAssertTrue(onTrain.stderr.contains("not held out"), onTrain.stderr)

        // generate and logits apply the file's template and --scale (any sign).
        let generated = try run(["generate", "--steering", steering, "--scale", "-2", "--max-tokens", "2", "Lead the project?"])
        XCTAssertEqual(generated.status, 0, generated.output)
        let logitsPlus = try json(try run(["logits", "--steering", steering, "--scale", "3", "--json", "Lead?"]))
        let logitsZero = try json(try run(["logits", "--steering", steering, "--scale", "0", "--json", "Lead?"]))
        XCTAssertEqual(logitsPlus["ids"] as? [Int], logitsZero["ids"] as? [Int], "the chat template was applied to both")
        XCTAssertGreaterThan((logitsZero["ids"] as? [Int])?.count ?? 0, 40, "the chat template's text is in the prompt")
        XCTAssertNotEqual(logitsPlus["logsumexp"] as? Double, logitsZero["logsumexp"] as? Double)
    }

    func testValidationDataFileAndCustomTemplateAndBadOptions() throws {
        let train = try csv("train.csv", rows: 6)
        let validation = try csv("valid.csv", rows: 3, first: 50)
        let out = dir.appendingPathComponent("v.safetensors").path
        let r = try run([
            "steer", "--data", train.path, "--validation-data", validation.path, "--columns", "question,matching,not_matching",
            "--heads", "L0H1,L1H2", "--prompt-template", "custom", "--template", "Question: {prompt}\nAnswer:",
            "--epochs", "1", "--batch-size", "2", "--output", out,
        ])
        XCTAssertEqual(r.status, 0, r.output)
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("v.json"))) as! [String: Any]
        XCTAssertEqual(record["trainPairs"] as? Int, 6, "all of --data is trained on")
        XCTAssertEqual(record["validationPairs"] as? Int, 3)
        XCTAssertEqual(record["validationDataFileSHA256"] as? String, SHA256.hex(try Data(contentsOf: validation)))
        XCTAssertEqual(try SteeringFile.load(URL(fileURLWithPath: out)).promptTemplate, .custom(pattern: "Question: {prompt}\nAnswer:"))

        assertFails(try run(["steer", "--data", train.path, "--parameterization", "residual", "--output", out]), mentioning: ["--layer"])
        assertFails(try run(["steer", "--data", train.path, "--parameterization", "residual", "--layer", "9", "--columns", "question,matching,not_matching", "--output", out]), mentioning: ["--layer 9", "2 layers"])
        assertFails(try run(["steer", "--heads", "L0H1", "--prompt-template", "custom", "--data", train.path]), mentioning: ["--template"])
        assertFails(try run(["steer", "--data", train.path, "--output", out]), mentioning: ["--heads is required"])
        assertFails(try run(["eval", "preferences", "--data", train.path, "--prompt-template", "custom", "--template", "no placeholder"]), mentioning: ["{prompt}"])
        // --steering-scale is still accepted by eval truthfulqa (alias of --scale).
        let help = try CLI.run(["eval", "truthfulqa", "--help"])
        XCTAssertTrue(help.stdout.contains("--scale") && help.stdout.contains("--steering-scale"), help.stdout)
    }
}
