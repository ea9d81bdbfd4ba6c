import LocusModel

/// What the evaluator is running when it asks an intervention for hooks.
public enum EvaluationContext: Sendable {
    /// Scoring the answers of one question; every sequence's prompt has this many tokens
    /// (positions from `promptLength` on are answer tokens).
    case multipleChoice(promptLength: Int)
    /// Greedy generation; one prompt length per sequence of the batch.
    case generation(promptLengths: [Int])
    /// Side-effect text (CE/KL).
    case sideEffects
}

/// An edit under evaluation, whatever method produced it (ITI, steering, a baked bias): a name,
/// the hooks that apply it in each evaluation context, and a description of the positions for
/// the record. It lives here, beside the hooks and `Positions` it is made of, so method modules
/// can build one without depending on the evaluators (LocusEvaluation runs it).
public struct Intervention {
    public var name: String
    /// Whether the edit touches prompt tokens before the last one: then the shared prompt prefix
    /// cannot be computed once without it, and the evaluators run whole prompts with the hooks.
    public var editsPrompt: Bool
    /// For an edit that touches the prompt: whether its edit of the shared prefix's positions is
    /// the same for every prompt that extends the prefix (positions are absolute, and whether a
    /// prefix position fires does not depend on the prompt's length, as for every steering
    /// position rule). Then the evaluators compute the edited prefix once per evaluation (the
    /// edit is fixed within a run) and reuse its keys and values for every question, instead of
    /// running whole prompts. Hooks are built for a prompt of exactly the prefix's length.
    public var prefixEditShared: Bool
    /// context → where the edit fires, for the run record.
    public var positions: [String: String]
    public var hooks: (EvaluationContext) -> [ActivationHook]
    /// Optional: MC-scoring hooks for a packed batch whose sequences have different prompt
    /// lengths (one per sequence). With it, the MC evaluator packs answers of several questions
    /// into one forward call; without it, it scores one question per call.
    public var multipleChoiceHooks: (([Int]) -> [ActivationHook])?

    public init(
        name: String, editsPrompt: Bool = false, prefixEditShared: Bool = false, positions: [String: String],
        multipleChoiceHooks: (([Int]) -> [ActivationHook])? = nil,
        hooks: @escaping (EvaluationContext) -> [ActivationHook]
    ) {
        self.name = name
        self.editsPrompt = editsPrompt
        self.prefixEditShared = prefixEditShared
        self.positions = positions
        self.multipleChoiceHooks = multipleChoiceHooks
        self.hooks = hooks
    }

    /// An edit placed as METHODS.md §2 prescribes for ITI: answer tokens in MC scoring, the last
    /// position during generation, all tokens for CE/KL. `make` builds the hooks for positions.
    public static func standard(name: String, make: @escaping (Positions) -> [ActivationHook]) -> Intervention {
        Intervention(
            name: name, editsPrompt: false, positions: StandardPositions.descriptions,
            multipleChoiceHooks: { make(.from($0)) }
        ) { context in
            switch context {
            case .multipleChoice(let promptLength): make(.from([promptLength]))
            case .generation: make(.last)
            case .sideEffects: make(.all)
            }
        }
    }
}

extension Intervention {
    /// An edit with one position rule in every TruthfulQA context (steering, issue 11): `rule`
    /// maps the absolute prompt lengths of a batch's sequences to where the edit fires, the same
    /// function training used, so MC scoring and generation edit exactly the positions training
    /// edited. `editsPrompt` must say whether the rule touches the shared instruction + primer
    /// prefix; a rule's prefix positions never depend on the prompt length (`prefixEditShared`),
    /// so the evaluators compute the edited prefix once per evaluation. Side effects: all tokens.
    public static func positionRule(
        name: String, editsPrompt: Bool, description: String, rule: @escaping ([Int]) -> Positions,
        make: @escaping (Positions) -> [ActivationHook]
    ) -> Intervention {
        Intervention(
            name: name, editsPrompt: editsPrompt, prefixEditShared: editsPrompt,
            positions: [
                "multiple_choice": description, "generation": description,
                "side_effects": StandardPositions.sideEffects,
            ],
            multipleChoiceHooks: { make(rule($0)) }
        ) { context in
            switch context {
            case .multipleChoice(let promptLength): make(rule([promptLength]))
            case .generation(let promptLengths): make(rule(promptLengths))
            case .sideEffects: make(.all)
            }
        }
    }
}

/// The standard placement of an edit, as recorded in every report.
public enum StandardPositions {
    public static let multipleChoice =
        "answer tokens (positions from the prompt length on; the prompt, and so the first answer token's prediction, unedited)"
    public static let generation =
        "last position of every forward call (the prompt's last token, then each generated token)"
    public static let sideEffects = "all tokens"

    public static let descriptions = [
        "multiple_choice": multipleChoice, "generation": generation, "side_effects": sideEffects,
    ]
}
