import Foundation
import LocusCheckpoint
import LocusData
import LocusSteering
import LocusTestSupport
import LocusTokenizer
import XCTest

/// `ChatTemplate` against transformers' `apply_chat_template` (one user turn + generation
/// prompt) for SmolLM2's template read from the real GGUF
/// (`scripts/reference/make_chat_template_fixture.py`), and the templates it refuses.
final class ChatTemplateTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            var prompt: String
            var text: String
            var ids: [Int]
        }
        var chat_template: String
        var cases: [Case]
    }

    func fixture() throws -> Fixture {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("smollm2_chat_template.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func testSmolLM2TemplateFromTheGGUFRendersAsTransformersDoes() throws {
        let fixture = try fixture()
        let modelURL = try TestEnvironment.modelURL()
        let template = try ChatTemplate.load(checkpoint: modelURL)
        XCTAssertEqual(template.source, fixture.chat_template, "the GGUF's template is the fixture's")
        let tokenizer = try TokenizerLoader.tokenizer(ggufMetadata: try GGUFFile(url: modelURL).metadata, file: modelURL.path)
        XCTAssertEqual(fixture.cases.count, 6)
        for c in fixture.cases {
            XCTAssertEqual(template.render(userMessage: c.prompt), c.text, c.prompt)
            XCTAssertEqual(tokenizer.encode(template.render(userMessage: c.prompt)), c.ids, c.prompt)
            // Split at the shared prefix as training does: the same ids as the whole text (the
            // prefix ends before "\n", so "  leading…" still tokenizes as in the whole text).
            let steering = SteeringPromptTemplate.chat(pattern: template.singleTurnPattern)
            let pair = steering.render([PreferencePair(prompt: c.prompt, chosen: "Yes.", rejected: "No.", group: 0)])[0]
            XCTAssertEqual(steering.sharedPrefix + pair.prompt, c.text)
            XCTAssertEqual(pair.chosen, "Yes.", "the generation prompt ends in a line end: no space before the answer")
            let (prefix, tokenized) = steering.tokenize([pair], tokenizer: tokenizer)
            XCTAssertEqual(prefix + tokenized[0].prompt, c.ids, c.prompt)
        }
    }

    func testWhiteSpaceControlsAndEscapedLineEndsAreTheSameTemplate() throws {
        let source = #"{%- for message in messages -%}{%- if loop.first and messages[0]['role'] != 'system' -%}{{- '<|im_start|>system\nBe brief.<|im_end|>\n' -}}{%- endif -%}{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' -}}{%- endfor -%}{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%}"#
        let t = try ChatTemplate(source: source, file: "t")
        XCTAssertEqual(t.render(userMessage: "Hi"), "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        // Without a default system turn (Qwen-style templates put theirs in the same place).
        let bare = #"{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"#
        XCTAssertEqual(try ChatTemplate(source: bare, file: "t").render(userMessage: "Hi"), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }

    /// A Hugging Face directory's `tokenizer_config.json` gives the same template as the GGUF;
    /// a file that does not parse, or has no `chat_template`, is refused naming the file (and
    /// the line, for bad JSON).
    func testTemplateFromTokenizerConfigAndItsErrors() throws {
        let fixtureURL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("smollm2_chat_template.json")
        let dir = try TestEnvironment.temporaryDirectory("chat-template-config")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("tokenizer_config.json")
        try FileManager.default.copyItem(at: fixtureURL, to: config)
        let template = try ChatTemplate.load(checkpoint: dir)
        XCTAssertEqual(template.source, try fixture().chat_template)
        XCTAssertEqual(
            template.render(userMessage: "Hi"),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")

        try Data("{\n  \"chat_template\": 3,\n".utf8).write(to: config)
        XCTAssertThrowsError(try ChatTemplate.load(checkpoint: dir)) { error in
            XCTAssertTrue("\(error)".hasPrefix(config.path + ": "), "\(error)")
            XCTAssertTrue("\(error)".contains("not valid JSON (\(config.path):3: "), "\(error)")
        }
        try Data("{\"chat_template\": 3}".utf8).write(to: config)
        XCTAssertThrowsError(try ChatTemplate.load(checkpoint: dir)) { error in
            XCTAssertTrue("\(error)".hasPrefix(config.path + ": "), "\(error)")
            XCTAssertTrue("\(error)".contains("no string 'chat_template'"), "\(error)")
        }
    }

    func testTemplatesItCannotRenderAreRefusedNamingTheFile() throws {
        let gemma = "{{ bos_token }}{% for message in messages %}{{ '<start_of_turn>' + message['role'] + '\n' + message['content'] + '<end_of_turn>\n' }}{% endfor %}"
        let llama = "{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endif %}{% endfor %}"
        for source in [gemma, llama, ""] {
            XCTAssertThrowsError(try ChatTemplate(source: source, file: "cfg.json")) { error in
                XCTAssertTrue("\(error)".hasPrefix("cfg.json: "), "\(error)")
                XCTAssertTrue("\(error)".contains("--prompt-template custom"), "\(error)")
            }
        }
        // The Gemma GGUF has no chat template at all.
        let gemmaURL = TestEnvironment.packageRoot.appendingPathComponent("models/gemma-3-270m-Q4_K_M.gguf")
        if FileManager.default.fileExists(atPath: gemmaURL.path) {
            XCTAssertThrowsError(try ChatTemplate.load(checkpoint: gemmaURL)) { error in
                XCTAssertTrue("\(error)".contains("no tokenizer.chat_template"), "\(error)")
            }
        }
    }

    func testTemplatesRenderPromptsAndSeparateAnswers() {
        let pairs = [
            PreferencePair(prompt: "Do you accept her offer?", chosen: "Absolutely!", rejected: "No thank you.", group: 0),
            PreferencePair(prompt: "Q: x\nA:", chosen: " y.", rejected: " z.", group: 1),
        ]
        let plain = SteeringPromptTemplate.bare.render(pairs)
        XCTAssertEqual(plain[0].prompt + plain[0].chosen, "Do you accept her offer? Absolutely!", "no longer joined raw")
        XCTAssertEqual(plain[1].chosen, " y.", "an answer that starts with a space keeps it alone")
        let custom = SteeringPromptTemplate.custom(pattern: "Question: {prompt}\nAnswer:")
        XCTAssertEqual(custom.sharedPrefix, "Question:", "the prefix ends before white space")
        XCTAssertEqual(custom.render(pairs)[0].prompt, " Do you accept her offer?\nAnswer:")
        XCTAssertEqual(custom.render(pairs)[0].rejected, " No thank you.")
        XCTAssertEqual(custom.apply(to: "Hi"), "Question: Hi\nAnswer:")
        XCTAssertNil(SteeringPromptTemplate(rawValue: "custom", pattern: "no placeholder"))
        XCTAssertNil(SteeringPromptTemplate(rawValue: "custom", pattern: "{prompt}{prompt}"))
        XCTAssertEqual(SteeringPromptTemplate(rawValue: "plain"), .bare)
    }

    func testTemplatesRoundTripThroughJSONAndSteeringFiles() throws {
        for t: SteeringPromptTemplate in [.truthfulQA, .bare, .chat(pattern: "<s>{prompt}</s>\n"), .custom(pattern: "Q: {prompt}\nA:")] {
            let data = try JSONEncoder().encode(t)
            XCTAssertEqual(try JSONDecoder().decode(SteeringPromptTemplate.self, from: data), t)
        }
        // Records written before issue 15 hold the bare name.
        XCTAssertEqual(try JSONDecoder().decode(SteeringPromptTemplate.self, from: Data(#""truthfulqa-mc""#.utf8)), .truthfulQA)
        var p = SteeringParameters(residualLayer: 3, width: 8)
        p.values = (0..<8).map { Float($0) - 2.5 }
        let file = SteeringFile(
            parameters: p, positions: .afterPrefix, promptTemplate: .chat(pattern: "<|im_start|>user\n{prompt}<|im_end|>\n"),
            objective: .dpo(beta: 0.25), lengthNormalized: true, dataSHA256: String(repeating: "ab", count: 32))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("chat-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try file.write(to: url)
        XCTAssertEqual(try SteeringFile.load(url), file)
    }
}
