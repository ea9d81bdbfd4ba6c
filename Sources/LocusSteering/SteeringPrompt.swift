import LocusData

/// The text a steering pair is trained in, recorded in the steering file and its record:
///
///     {shared prefix}{question part}{separator}{answer}
///
/// The shared prefix is the same for every pair. Under the default positions (`SteeringPositions
/// .afterPrefix`) the edit never fires on it, so its keys and values are computed once, unedited,
/// and every training step continues them (`DecoderModel.forwardForTraining(prefix:)`); only the
/// question and answer tokens are run forward and backward.
///
/// For a preference file (`locus steer --data F.csv`): `bare` (the CLI's `plain`) is the prompt as
/// written; `chat` is the model's chat template rendered for one user turn plus the generation
/// prompt (`ChatTemplate`), and `custom` a pattern with `{prompt}`. For every template the answer
/// follows the rendered prompt after one space, unless the prompt ends in white space or the
/// answer starts with it (issue 15: prompts and answers were joined raw, "…offer?Absolutely!").
/// BiPO prepends the same space to its answers (`train.py`, `get_data`, lines 135–136 at cef1d00).
public enum SteeringPromptTemplate: Codable, Equatable, Hashable, Sendable {
    /// TruthfulQA's multiple-choice evaluation prompt, `TruthfulQAPrompt()`: the instruction of
    /// honest_llama's `tqa_run_probs` (`utils.py` lines 296–334 at 2c6b217), TruthfulQA's
    /// `QA_PRIMER` (`truthfulqa/presets.py`), then `"\n\nQ: {question}\nA:"` and the answer
    /// `" {answer}"` (`truthfulqa/utilities.py`, `format_prompt_with_answer_strings` with preset
    /// 'qa'). Training then scores exactly the token sequences MC evaluation scores (the prefix,
    /// question part and answer tokenized separately, as `MultipleChoiceEvaluator` does). The
    /// default since issue 11.
    case truthfulQA
    /// `"Q: {question}\nA:"` and `" {answer}"` alone for TruthfulQA (the format before issue 11);
    /// a preference file's prompt as written (the CLI's `plain`).
    case bare
    /// The model's chat template for one user turn and the generation prompt, as a pattern with
    /// one `{prompt}` (`ChatTemplate.singleTurnPattern`).
    case chat(pattern: String)
    /// A user's pattern with one `{prompt}`.
    case custom(pattern: String)

    /// The placeholder a pattern holds once.
    public static let placeholder = "{prompt}"

    /// The name recorded in steering files (`prompt_template`): truthfulqa-mc, bare, chat, custom.
    public var rawValue: String {
        switch self {
        case .truthfulQA: "truthfulqa-mc"
        case .bare: "bare"
        case .chat: "chat"
        case .custom: "custom"
        }
    }

    /// The pattern of `chat` and `custom` (nil for the others).
    public var pattern: String? {
        switch self {
        case .chat(let p), .custom(let p): p
        default: nil
        }
    }

    /// From a steering file's `prompt_template` (and `prompt_template_text` for chat/custom).
    public init?(rawValue: String, pattern: String? = nil) {
        switch rawValue {
        case "truthfulqa-mc": self = .truthfulQA
        case "bare", "plain": self = .bare
        case "chat", "custom":
            guard let pattern, Self.isValidPattern(pattern) else { return nil }
            self = rawValue == "chat" ? .chat(pattern: pattern) : .custom(pattern: pattern)
        default: return nil
        }
    }

    /// Whether `pattern` holds `{prompt}` exactly once.
    public static func isValidPattern(_ pattern: String) -> Bool {
        pattern.components(separatedBy: placeholder).count == 2
    }

    /// The evaluation prompt this template trains in; nil unless `truthfulQA`.
    public var truthfulQAPrompt: TruthfulQAPrompt? { self == .truthfulQA ? TruthfulQAPrompt() : nil }

    /// The text every pair shares (empty for `bare`): a pattern's text before `{prompt}` without
    /// its trailing white space. The prefix is tokenized on its own and each pair's part as its
    /// continuation; ending the prefix before the white space keeps that split on a
    /// pre-tokenizer boundary, so the ids equal those of the whole text even when a prompt
    /// starts with white space (ChatML's "user\n" + "  x" is "user" + "\n " + " x" whole).
    public var sharedPrefix: String {
        if let pattern {
            let before = pattern.components(separatedBy: Self.placeholder)[0]
            return String(before[..<(before.lastIndex { !$0.isWhitespace }.map(before.index(after:)) ?? before.startIndex)])
        }
        return truthfulQAPrompt?.sharedPrefix ?? ""
    }

    /// The text of a pattern between `sharedPrefix` and `{prompt}` (its white space).
    var promptLead: String {
        pattern.map { String($0.components(separatedBy: Self.placeholder)[0].dropFirst(sharedPrefix.count)) } ?? ""
    }

    /// A pattern's text after `{prompt}` (empty for the others).
    public var promptSuffix: String {
        pattern.map { $0.components(separatedBy: Self.placeholder)[1] } ?? ""
    }

    /// The whole text a user's prompt becomes (`locus generate`/`logits` with a steering file):
    /// the pattern filled in; the prompt itself for `bare` and `truthfulQA` (the latter's
    /// free-form prompts are all "question", see `SteeringFile.sharedPrefixLength`).
    public func apply(to prompt: String) -> String {
        pattern.map { $0.replacingOccurrences(of: Self.placeholder, with: prompt) } ?? prompt
    }

    /// A readable form for records.
    public var description: String {
        switch self {
        case .truthfulQA: "instruction + QA_PRIMER (TruthfulQA MC evaluation prompt) + \"\\n\\nQ: {question}\\nA:\" + \" {answer}\""
        case .bare: "\"Q: {question}\\nA:\" + \" {answer}\" for TruthfulQA (no instruction or primer; MC evaluation uses the primer prompt); a preference file's prompt as written, then the answer after one space"
        case .chat(let p): "the model's chat template, one user turn + generation prompt: \(p.debugDescription), then the answer"
        case .custom(let p): "custom pattern \(p.debugDescription), then the answer"
        }
    }

    /// TruthfulQA preference pairs in this template; each pair's `prompt` is the per-question
    /// part (after the shared prefix). Chat and custom patterns wrap the bare `Q: …\nA:` prompt.
    public func pairs(_ tqa: TruthfulQA, questionIDs: [Int]) -> [PreferencePair] {
        let pairs = tqa.preferencePairs(questionIDs: questionIDs, prompt: truthfulQAPrompt)
        return pattern == nil ? pairs : render(pairs)
    }

    /// A preference file's pairs in this template: each prompt becomes its per-pair part (the
    /// rendered text after the shared prefix, so `sharedPrefix + prompt` is the whole rendered
    /// prompt), each answer gets the separator (one space unless
    /// the prompt ends or the answer starts with white space). `truthfulQA` renders like `bare`.
    public func render(_ pairs: [PreferencePair]) -> [PreferencePair] {
        pairs.map { pair in
            let part = promptLead + pair.prompt + promptSuffix
            let needsSpace = !(part.last?.isWhitespace ?? true)
            func answer(_ a: String) -> String {
                needsSpace && !(a.first?.isWhitespace ?? false) ? " " + a : a
            }
            return PreferencePair(prompt: part, chosen: answer(pair.chosen), rejected: answer(pair.rejected), group: pair.group)
        }
    }

    private enum CodingKeys: String, CodingKey { case name, pattern }

    /// Encoded as its raw value (the form records had before issue 15) when it has no pattern,
    /// else `{"name": …, "pattern": …}`.
    public func encode(to encoder: Encoder) throws {
        if let pattern {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(rawValue, forKey: .name)
            try c.encode(pattern, forKey: .pattern)
        } else {
            var c = encoder.singleValueContainer()
            try c.encode(rawValue)
        }
    }

    public init(from decoder: Decoder) throws {
        if let name = try? decoder.singleValueContainer().decode(String.self) {
            guard let t = SteeringPromptTemplate(rawValue: name) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown prompt template '\(name)'"))
            }
            self = t
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .name), pattern = try c.decode(String.self, forKey: .pattern)
        guard let t = SteeringPromptTemplate(rawValue: name, pattern: pattern) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad prompt template '\(name)' / \(pattern.debugDescription)"))
        }
        self = t
    }
}
