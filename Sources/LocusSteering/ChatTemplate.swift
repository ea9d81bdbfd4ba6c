import Foundation
import LocusCheckpoint
import LocusCore

/// A model's chat template (the Jinja source in GGUF `tokenizer.chat_template` or a Hugging Face
/// directory's `tokenizer_config.json` `chat_template`), rendered for the one case steering needs:
/// a single user turn followed by the generation prompt, i.e. what transformers'
/// `tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
/// add_generation_prompt=True)` returns.
///
/// Locus does not interpret Jinja. It recognises the ChatML family (SmolLM2, Qwen2), whose
/// templates are, up to white space inside the `{% %}`/`{{ }}` tags:
///
///     {% for message in messages %}
///       [{% if loop.first and messages[0]['role'] != 'system' %}{{ 'DEFAULT SYSTEM TURN' }}{% endif %}]
///       {{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}
///     {% endfor %}
///     {% if add_generation_prompt %}{{ 'GENERATION PROMPT' }}{% endif %}
///
/// For one user message the loop runs once with `loop.first` true and `messages[0]['role']`
/// = 'user', so the rendering is DEFAULT SYSTEM TURN (when the template has one) +
/// `<|im_start|>user\n{prompt}<|im_end|>\n` + GENERATION PROMPT. Any other template is refused
/// with an error that suggests `--prompt-template custom`. Checked against transformers' own
/// rendering by `scripts/reference/make_chat_template_fixture.py`.
public struct ChatTemplate: Equatable, Sendable {
    /// The Jinja source as stored.
    public let source: String
    /// The text of one user turn and the generation prompt, with `{prompt}` for the message.
    public let singleTurnPattern: String

    public struct Unsupported: Error, CustomStringConvertible, Sendable {
        public let file: String
        public let problem: String
        public var description: String {
            "\(file): \(problem); use --prompt-template custom --template \"…{prompt}…\" to give the text around the prompt yourself"
        }
    }

    /// Parses `source`; `file` names where it came from in errors.
    public init(source: String, file: String) throws {
        self.source = source
        func fail(_ why: String) -> Unsupported { Unsupported(file: file, problem: why) }
        let compact = Self.compactTags(source)
        let message = "{{'<|im_start|>'+message['role']+'\\n'+message['content']+'<|im_end|>'+'\\n'}}"
        guard compact.hasPrefix("{%formessageinmessages%}") else {
            throw fail("the chat template does not start with a loop over messages (not a ChatML template Locus can render)")
        }
        guard compact.contains(message) else {
            throw fail("the chat template's message turn is not ChatML's '<|im_start|>' + role + '\\n' + content + '<|im_end|>' + '\\n'")
        }
        let systemGuard = "{%ifloop.firstandmessages[0]['role']!='system'%}"
        var system = ""
        var rest = compact.dropFirst("{%formessageinmessages%}".count)
        if rest.hasPrefix(systemGuard) {
            rest = rest.dropFirst(systemGuard.count)
            guard let (literal, after) = Self.literalBlock(rest), after.hasPrefix("{%endif%}") else {
                throw fail("the chat template's default system turn is not one string literal")
            }
            system = literal
            rest = after.dropFirst("{%endif%}".count)
        }
        guard rest.hasPrefix(message + "{%endfor%}") else {
            throw fail("the chat template has more in its message loop than the ChatML turn (and a default system turn)")
        }
        rest = rest.dropFirst((message + "{%endfor%}").count)
        guard rest.hasPrefix("{%ifadd_generation_prompt%}"),
            let (generation, after) = Self.literalBlock(rest.dropFirst("{%ifadd_generation_prompt%}".count)),
            after.hasPrefix("{%endif%}"), after.dropFirst("{%endif%}".count).isEmpty
        else { throw fail("the chat template's generation prompt is not one string literal after the loop") }
        singleTurnPattern = system + "<|im_start|>user\n{prompt}<|im_end|>\n" + generation
    }

    /// The chat template of a checkpoint: GGUF `tokenizer.chat_template`, or `chat_template` in
    /// a Hugging Face directory's `tokenizer_config.json`. Throws naming the file when absent.
    public static func load(checkpoint url: URL) throws -> ChatTemplate {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        if isDirectory.boolValue || url.lastPathComponent.hasSuffix(".index.json") {
            let folder = isDirectory.boolValue ? url : url.deletingLastPathComponent()
            let config = folder.appendingPathComponent("tokenizer_config.json")
            guard let text = try? String(contentsOf: config, encoding: .utf8) else {
                throw Unsupported(file: config.path, problem: "cannot read tokenizer_config.json for the model's chat template")
            }
            let object: JSONValue
            do { object = try JSONValue.parse(text, file: config.path) } catch {
                throw Unsupported(file: config.path, problem: "tokenizer_config.json is not valid JSON (\(error))")
            }
            guard let source = object["chat_template"]?.string else {
                throw Unsupported(file: config.path, problem: "no string 'chat_template' (this model has no chat template)")
            }
            return try ChatTemplate(source: source, file: config.path)
        }
        let gguf = try GGUFFile(url: url)
        guard let source = gguf.string("tokenizer.chat_template") else {
            throw Unsupported(file: url.path, problem: "no tokenizer.chat_template in the GGUF metadata (this model has no chat template)")
        }
        return try ChatTemplate(source: source, file: url.path)
    }

    /// The rendered text for one user message and the generation prompt.
    public func render(userMessage: String) -> String {
        singleTurnPattern.replacingOccurrences(of: "{prompt}", with: userMessage)
    }

    /// The source with white space removed inside `{% %}` and `{{ }}` tags (and the `-`
    /// white-space controls dropped), string literals kept verbatim; text outside tags is kept.
    static func compactTags(_ source: String) -> String {
        var out = "", i = source.startIndex
        var inTag = false, quote: Character? = nil
        while i < source.endIndex {
            let c = source[i]
            let next = source.index(after: i)
            let pair = next < source.endIndex ? String([c, source[next]]) : String(c)
            if let q = quote {
                // A raw line end inside a literal is written as its escape, so both spellings
                // compare equal and decode alike.
                if c == "\n" { out += "\\n" } else { out.append(c) }
                if c == "\\", next < source.endIndex {
                    out.append(source[next])
                    i = source.index(after: next)
                    continue
                }
                if c == q { quote = nil }
            } else if !inTag, pair == "{%" || pair == "{{" {
                out += pair
                inTag = true
                i = source.index(after: next)
                if i < source.endIndex, source[i] == "-" { i = source.index(after: i) }
                continue
            } else if inTag, pair == "%}" || pair == "}}" {
                if out.last == "-" { out.removeLast() }
                out += pair
                inTag = false
                i = source.index(after: next)
                continue
            } else if inTag {
                if c == "'" || c == "\"" { quote = c; out.append(c) } else if !c.isWhitespace { out.append(c) }
            } else {
                out.append(c)
            }
            i = next
        }
        return out
    }

    /// `{{'literal'}}` at the start of `text` (compacted): the decoded literal and what follows.
    static func literalBlock(_ text: Substring) -> (String, Substring)? {
        guard text.hasPrefix("{{"), let q = text.dropFirst(2).first, q == "'" || q == "\"" else { return nil }
        var value = "", i = text.index(text.startIndex, offsetBy: 3)
        while i < text.endIndex {
            let c = text[i]
            if c == "\\" {
                let n = text.index(after: i)
                guard n < text.endIndex else { return nil }
                switch text[n] {
                case "n": value.append("\n")
                case "t": value.append("\t")
                case "r": value.append("\r")
                default: value.append(text[n])
                }
                i = text.index(after: n)
                continue
            }
            if c == q {
                let after = text[text.index(after: i)...]
                guard after.hasPrefix("}}") else { return nil }
                return (value, after.dropFirst(2))
            }
            value.append(c)
            i = text.index(after: i)
        }
        return nil
    }
}
