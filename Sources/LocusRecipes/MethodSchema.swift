import LocusCore

/// What a method kind accepts in a recipe: its parameters, their types, which are grid axes
/// (arrays whose every value becomes its own run), defaults, and whether it pairs with head sets.
///
/// Built-in kinds are `iti`, `ipo` and `dpo` (METHODS.md §2–3). Other methods register by adding
/// a schema to the table passed to `Recipe.parse(_:schemas:)`. `scrub` and `ablate` have schemas
/// and executors; `trace` and `rome` are pre-registered as *open* kinds (any parameters; every array
/// is a grid axis) so recipes for them parse and their modules can tighten the schema later.
public struct MethodSchema: Sendable {
    public enum ValueType: Sendable, Equatable {
        case number, integer, string, bool
        /// One of these strings.
        case choice([String])

        var noun: String {
            switch self {
            case .number: "a number"
            case .integer: "an integer"
            case .string: "a string"
            case .bool: "true or false"
            case .choice(let options): "one of " + options.map { "\"\($0)\"" }.joined(separator: ", ")
            }
        }
        var plural: String {
            switch self {
            case .number: "numbers"
            case .integer: "integers"
            case .string: "strings"
            case .bool: "booleans"
            case .choice(let options): "strings from " + options.joined(separator: ", ")
            }
        }

        func accepts(_ v: JSONValue) -> Bool {
            switch self {
            case .number: v.number?.isFinite == true
            case .integer: v.int != nil
            case .string: v.string != nil
            case .bool: v.bool != nil
            case .choice(let options): v.string.map(options.contains) ?? false
            }
        }
    }

    public struct Parameter: Sendable {
        public var name: String
        public var type: ValueType
        /// A grid axis: the recipe gives an array, and each element becomes its own run.
        public var grid: Bool
        public var required: Bool
        /// Filled in when the recipe leaves the parameter out (nil: left out of the run).
        public var defaultValue: JSONValue?
        public var help: String
        /// Smallest value a number or integer may take (checked at load, for every grid value),
        /// so a run can neither trap nor be recorded "ok" with nothing behind it.
        public var minimum: Double?
        /// `minimum` itself is excluded (a value must be greater).
        public var exclusiveMinimum: Bool
        /// Largest value (counts that size an allocation: a typo must not allocate it).
        public var maximum: Double?

        public init(
            _ name: String, _ type: ValueType, grid: Bool = false, required: Bool = false,
            default defaultValue: JSONValue? = nil, help: String = "", minimum: Double? = nil,
            exclusiveMinimum: Bool = false, maximum: Double? = nil
        ) {
            self.name = name
            self.type = type
            self.grid = grid
            self.required = required
            self.defaultValue = defaultValue
            self.help = help
            self.minimum = minimum
            self.exclusiveMinimum = exclusiveMinimum
            self.maximum = maximum
        }

        /// Why `value` is out of range, or nil when it is acceptable.
        func rangeProblem(_ value: JSONValue) -> String? {
            guard let x = value.number else { return nil }
            func text(_ b: Double) -> String { b == b.rounded() && abs(b) < 1e15 ? String(Int(b)) : String(b) }
            if let minimum, exclusiveMinimum ? x <= minimum : x < minimum {
                return exclusiveMinimum ? "must be greater than \(text(minimum)), got \(value.canonicalText)"
                    : "must be at least \(text(minimum)), got \(value.canonicalText)"
            }
            if let maximum, x > maximum { return "must be at most \(text(maximum)), got \(value.canonicalText)" }
            return nil
        }
    }

    public var kind: String
    public var parameters: [Parameter]
    /// Runs of this method are paired with the recipe's head sets.
    public var usesHeadSets: Bool
    /// Open kinds accept any parameters (arrays become grid axes).
    public var open: Bool

    /// Methods that run once per item of a list (one fact per run, so an analysis resumes and
    /// shards fact by fact): the recipe gives how many items (`countParameter`) from where
    /// (`offsetParameter`, default 0), and parsing adds the grid axis `axis` = 0, 1, …, count − 1.
    public struct ItemAxis: Sendable {
        public var axis: String
        public var countParameter: String
        public var offsetParameter: String
        public init(axis: String, countParameter: String, offsetParameter: String) {
            self.axis = axis
            self.countParameter = countParameter
            self.offsetParameter = offsetParameter
        }
    }
    /// Set for per-item methods (`hase`, `interchange`).
    public var itemAxis: ItemAxis?

    public init(
        kind: String, parameters: [Parameter], usesHeadSets: Bool, open: Bool = false, itemAxis: ItemAxis? = nil
    ) {
        self.kind = kind
        self.parameters = parameters
        self.usesHeadSets = usesHeadSets
        self.open = open
        self.itemAxis = itemAxis
    }

    static let preferenceCommon: [Parameter] = [
        // lr 0 is allowed: it trains nothing, the unedited model on the same split (a control).
        Parameter("lr", .number, grid: true, help: "learning rates (default: by head count, METHODS §3)",
                  minimum: 0),
        Parameter("epochs", .integer, default: 2, minimum: 1, maximum: 10_000),
        Parameter("batchSize", .integer, default: 4, minimum: 1, maximum: 100_000),
        Parameter("parameterization", .choice(["headVectors", "rankOne"]), default: "headVectors"),
        Parameter("positions", .choice(["afterPrefix", "all", "prompt", "answer"]), default: "afterPrefix",
                  help: "where the edit fires, in training and evaluation alike: afterPrefix = question and answer tokens, never the instruction + primer (issue 11)"),
        Parameter("prompt", .choice(["truthfulqa", "bare"]), default: "truthfulqa",
                  help: "the pairs' prompt: truthfulqa = the MC evaluation's instruction + QA primer + \"Q: …\\nA:\"; bare = \"Q: …\\nA:\" alone (before issue 11)"),
        Parameter("lengthNormalized", .bool, default: false),
        Parameter("weightDecay", .number, default: 0, minimum: 0),
    ]

    public static let iti = MethodSchema(
        kind: "iti",
        parameters: [
            Parameter("alpha", .number, grid: true, required: true, help: "ITI strengths α"),
            Parameter("direction", .choice(["massMean", "probe", "random"]), default: "massMean"),
            Parameter("ranking", .string, required: true, help: "probe ranking file (σ, θ, folds)"),
        ], usesHeadSets: true)

    public static let ipo = MethodSchema(
        kind: "ipo",
        parameters: [Parameter("tau", .number, grid: true, required: true, help: "IPO τ", minimum: 0, exclusiveMinimum: true)] + preferenceCommon,
        usesHeadSets: true)

    public static let dpo = MethodSchema(
        kind: "dpo",
        parameters: [Parameter("beta", .number, grid: true, required: true, help: "DPO β", minimum: 0, exclusiveMinimum: true)] + preferenceCommon,
        usesHeadSets: true)

    /// Causal scrubbing of each head set (METHODS.md §9, executor in the CLI): the set's heads on
    /// the input on top of the kept components, every other head resampled; the run's seed seeds
    /// the scrubbing draws. Metrics: loss recovered with a paired bootstrap CI, against Redwood's
    /// L_random unless `baseline` is `headsOnly`.
    public static let scrub = MethodSchema(
        kind: "scrub",
        parameters: [
            Parameter("task", .choice(["truthfulqa", "induction"]), default: "truthfulqa",
                      help: "truthfulqa: MC log-prob margin (true − false); induction: loss on repeated random tokens"),
            Parameter("items", .integer, default: 24, help: "questions or sequences", minimum: 1, maximum: 100_000),
            Parameter("dataSeed", .integer, default: 1, help: "seed of the question sample or the random tokens",
                      minimum: 0),
            Parameter("length", .integer, default: 16, help: "induction: length of the repeated block", minimum: 1,
                      maximum: 100_000),
            Parameter("baseline", .choice(["random", "headsOnly", "embedAndMLPs", "none"]), default: "random",
                      help: "the zero of loss recovered: random = Redwood's L_random (every component resampled); headsOnly = the kept components on the input, every head resampled (the pre-issue-11 default). Legacy: embedAndMLPs = keep embedAndMLPs + headsOnly, none = keep none + random"),
            Parameter("keep", .choice(["embedAndMLPs", "none"]), default: "embedAndMLPs",
                      help: "components kept on the input in every hypothesis besides its heads"),
            Parameter("depth", .integer, default: 1, help: "levels of the treeified model built explicitly",
                      minimum: 1, maximum: 1_000),
            Parameter("randomSources", .integer, default: 1, minimum: 1, maximum: 100_000),
            Parameter("alignment", .choice(["start", "end"]), default: "start"),
            Parameter("draws", .integer, default: 1, help: "scrub draws per item", minimum: 1, maximum: 100_000),
            Parameter("bootstrap", .integer, default: 1000, help: "bootstrap resamples of the CI", minimum: 1,
                      maximum: 10_000_000),
        ], usesHeadSets: true)

    /// Ablation of each head set as a whole (executor in the CLI), on the tasks of `scrub`;
    /// `ablation` is a grid axis so one recipe compares kinds. Metric: the change toward worse.
    public static let ablate = MethodSchema(
        kind: "ablate",
        parameters: [
            Parameter("ablation", .choice(["zero", "mean", "resample"]), grid: true, required: true,
                      help: "zero, mean (over the task's inputs) or resample (another item, seeded by the run's seed)"),
            Parameter("task", .choice(["truthfulqa", "induction"]), default: "truthfulqa"),
            Parameter("items", .integer, default: 24, help: "questions or sequences", minimum: 1, maximum: 100_000),
            Parameter("dataSeed", .integer, default: 1, minimum: 0),
            Parameter("length", .integer, default: 16, help: "induction: length of the repeated block", minimum: 1,
                      maximum: 100_000),
        ], usesHeadSets: true)

    /// Settings both localization analyses share (METHODS.md §8): which facts, the edit layers,
    /// ROME and its key statistics. `layers` is "all", "every:K" or a comma list ("0,6,12").
    static let analysisCommon: [Parameter] = [
        Parameter("facts", .integer, required: true, help: "facts analysed (one run each)", minimum: 1,
                  maximum: 1_000_000),
        Parameter("offset", .integer, default: 0, help: "first fact (index into the data file)", minimum: 0),
        Parameter("layers", .string, required: true, help: "edit/trace layers: all, every:K or a comma list"),
        Parameter("romeSteps", .integer, default: 20, help: "ROME: loss evaluations for δ", minimum: 1,
                  maximum: 100_000),
        Parameter("contexts", .integer, default: 20, help: "ROME: generated context prefixes", minimum: 0,
                  maximum: 10_000),
        Parameter("contextSeed", .integer, default: 0, minimum: 0),
        Parameter("contextPrefixes", .choice(["sampled", "greedy"]), default: "sampled",
                  help: "ROME's context prefixes: top-5 sampled (ROME) or greedy (Locus's earlier rule)"),
        Parameter("earlyStop", .choice(["total-loss", "never"]), default: "total-loss",
                  help: "total-loss (ROME) or never (belief-localization's ROME)"),
        Parameter("updateKey", .choice(["prompt", "averaged"]), default: "prompt"),
        Parameter("statsSplit", .choice(["train", "validation", "test"]), default: "test",
                  help: "key statistics: wikitext-2 split"),
        Parameter("statsChunkTokens", .integer, default: 128, minimum: 1, maximum: 1_000_000),
        Parameter("statsChunks", .integer, default: 256, minimum: 1, maximum: 1_000_000),
        Parameter("statsSeed", .integer, default: 0, minimum: 0),
    ]

    /// Hase et al.'s "does localization inform editing?" (METHODS.md §8, executor in
    /// LocusExperiments): per CounterFact fact, the causal-tracing effect per layer and a ROME
    /// edit's scores at each layer; `locus report` regresses edit success on layer and tracing
    /// effect. The run's seed seeds the tracing noise.
    public static let hase = MethodSchema(
        kind: "hase",
        parameters: [
            Parameter("file", .string, default: "counterfact/counterfact-val.json",
                      help: "CounterFact file inside the data folder"),
        ] + analysisCommon + [
            Parameter("tracingKind", .choice(["mlp", "attention", "hidden"]), default: "mlp"),
            Parameter("window", .integer, default: 10, minimum: 1, maximum: 1_000),
            Parameter("samples", .integer, default: 10, help: "noise samples per trace", minimum: 1,
                      maximum: 100_000),
            Parameter("noise", .number, default: 3, help: "ν in units of noiseBasis's std", minimum: 0),
            Parameter("noiseBasis", .choice(["subjects", "matrix"]), default: "subjects"),
            Parameter("answerScore", .choice(["first-token", "whole-answer"]), default: "first-token",
                      help: "traced score: p(first token of the object) (ROME) or p(whole object) (belief-localization)"),
            Parameter("requireCorrect", .bool, default: true, help: "report filter: the model generates the true object"),
            Parameter("minTrueProbability", .number, default: 0.02, help: "report filter: p(true object) at least this",
                      minimum: 0),
        ], usesHeadSets: false,
        itemAxis: ItemAxis(axis: "fact", countParameter: "facts", offsetParameter: "offset"))

    /// Reber's interchange-agreement test (METHODS.md §8, executor in LocusExperiments): per
    /// known fact with an automatic counterfactual, does ROME (target = the counterfactual's
    /// answer) flip the answer, and does patching resid_post / mlp_out at the last subject token
    /// from the counterfactual run? `locus report` tabulates the agreement per layer.
    public static let interchange = MethodSchema(
        kind: "interchange",
        parameters: [
            Parameter("file", .string, default: "knowns/known_1000.json",
                      help: "known-facts file inside the data folder"),
        ] + analysisCommon,
        usesHeadSets: false,
        itemAxis: ItemAxis(axis: "fact", countParameter: "facts", offsetParameter: "offset"))

    public static func openKind(_ kind: String, usesHeadSets: Bool = false) -> MethodSchema {
        MethodSchema(kind: kind, parameters: [], usesHeadSets: usesHeadSets, open: true)
    }

    /// The table `Recipe.parse` uses by default.
    public static let builtIn: [String: MethodSchema] = [
        "iti": .iti, "ipo": .ipo, "dpo": .dpo,
        "scrub": .scrub, "ablate": .ablate, "trace": .openKind("trace"), "rome": .openKind("rome"),
        "hase": .hase, "interchange": .interchange,
    ]
}
