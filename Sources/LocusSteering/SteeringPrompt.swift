import LocusData

/// The text a steering pair is trained in, recorded in the steering file and its record:
///
///     {shared prefix}{question part}{answer}
///
/// The shared prefix is the same for every pair. Under the default positions (`SteeringPositions
/// .afterPrefix`) the edit never fires on it, so its keys and values are computed once, unedited,
/// and every training step continues them (`LlamaModel.forwardForTraining(prefix:)`); only the
/// question and answer tokens are run forward and backward.
public enum SteeringPromptTemplate: String, Codable, Sendable, CaseIterable {
    /// TruthfulQA's multiple-choice evaluation prompt, `TruthfulQAPrompt()`: the instruction of
    /// honest_llama's `tqa_run_probs` (`utils.py` lines 296–334 at 2c6b217), TruthfulQA's
    /// `QA_PRIMER` (`truthfulqa/presets.py`), then `"\n\nQ: {question}\nA:"` and the answer
    /// `" {answer}"` (`truthfulqa/utilities.py`, `format_prompt_with_answer_strings` with preset
    /// 'qa'). Training then scores exactly the token sequences MC evaluation scores (the prefix,
    /// question part and answer tokenized separately, as `MultipleChoiceEvaluator` does). The
    /// default since issue 11.
    case truthfulQA = "truthfulqa-mc"
    /// `"Q: {question}\nA:"` and `" {answer}"` alone: the format before issue 11. Evaluation
    /// still uses the MC prompt, so a gain is a transfer across prompts (labelled as such).
    case bare

    /// The evaluation prompt this template trains in; nil for `bare`.
    public var truthfulQAPrompt: TruthfulQAPrompt? { self == .truthfulQA ? TruthfulQAPrompt() : nil }

    /// The text every pair shares (empty for `bare`).
    public var sharedPrefix: String { truthfulQAPrompt?.sharedPrefix ?? "" }

    /// A readable form for records: `{prefix: …}` + the per-question part.
    public var description: String {
        switch self {
        case .truthfulQA: "instruction + QA_PRIMER (TruthfulQA MC evaluation prompt) + \"\\n\\nQ: {question}\\nA:\" + \" {answer}\""
        case .bare: "\"Q: {question}\\nA:\" + \" {answer}\" (no instruction or primer; MC evaluation uses the primer prompt)"
        }
    }

    /// TruthfulQA preference pairs in this template; each pair's `prompt` is the per-question
    /// part (after the shared prefix).
    public func pairs(_ tqa: TruthfulQA, questionIDs: [Int]) -> [PreferencePair] {
        tqa.preferencePairs(questionIDs: questionIDs, prompt: truthfulQAPrompt)
    }
}
