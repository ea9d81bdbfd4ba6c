/// A place in the forward pass whose activation can be read or overwritten.
///
/// Typed inside the engine; the TransformerLens-style names (`blocks.9.attn.hook_z`) are only the
/// printed form, parsed at the edges (CLI, recipes) by `init?(name:)`.
public enum ActivationSite: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The residual stream entering block l (for l = 0, the token embeddings). (T, C)
    case residualPre(layer: Int)
    /// The residual stream after block l's attention has been added. (T, C)
    case residualMid(layer: Int)
    /// The residual stream leaving block l. (T, C)
    case residualPost(layer: Int)
    /// Block l's attention output, o_proj(z). (T, C)
    case attentionOut(layer: Int)
    /// Block l's per-head attention results z before o_proj; head h is columns h·D..<(h+1)·D. (T, H·D)
    case headOutput(layer: Int)
    /// Block l's MLP hidden state silu(gate)⊙up, the input of the down projection (ROME's key). (T, F)
    case mlpHidden(layer: Int)
    /// Block l's MLP output, down(hidden). (T, C)
    case mlpOut(layer: Int)
    /// Block l's queries before RoPE, head h = columns h·D..<(h+1)·D. (T, H·D) Forward only:
    /// the backward pass does not differentiate through hooks here. Within a head, columns are
    /// in GGUF's adjacent-pair RoPE order.
    case queries(layer: Int)
    /// Block l's keys before RoPE, KV head g = columns g·D..<(g+1)·D. (T, G·D) Forward only.
    case keys(layer: Int)
    /// Block l's values, KV head g = columns g·D..<(g+1)·D. (T, G·D) Forward only.
    case values(layer: Int)

    public var layer: Int {
        switch self {
        case .residualPre(let l), .residualMid(let l), .residualPost(let l), .attentionOut(let l),
            .headOutput(let l), .mlpHidden(let l), .mlpOut(let l), .queries(let l), .keys(let l),
            .values(let l):
            l
        }
    }

    /// Activation width at this site for `config`.
    public func width(in config: ModelConfig) -> Int {
        switch self {
        case .headOutput: config.attentionWidth
        case .mlpHidden: config.intermediateSize
        case .queries: config.attentionWidth
        case .keys, .values: config.keyValueWidth
        default: config.hiddenSize
        }
    }

    /// The same kind of site at another layer.
    public func at(layer l: Int) -> ActivationSite {
        switch self {
        case .residualPre: .residualPre(layer: l)
        case .residualMid: .residualMid(layer: l)
        case .residualPost: .residualPost(layer: l)
        case .attentionOut: .attentionOut(layer: l)
        case .headOutput: .headOutput(layer: l)
        case .mlpHidden: .mlpHidden(layer: l)
        case .mlpOut: .mlpOut(layer: l)
        case .queries: .queries(layer: l)
        case .keys: .keys(layer: l)
        case .values: .values(layer: l)
        }
    }

    private static let suffixes: [(String, @Sendable (Int) -> ActivationSite)] = [
        ("hook_resid_pre", { .residualPre(layer: $0) }),
        ("hook_resid_mid", { .residualMid(layer: $0) }),
        ("hook_resid_post", { .residualPost(layer: $0) }),
        ("hook_attn_out", { .attentionOut(layer: $0) }),
        ("attn.hook_z", { .headOutput(layer: $0) }),
        ("mlp.hook_post", { .mlpHidden(layer: $0) }),
        ("hook_mlp_out", { .mlpOut(layer: $0) }),
        ("attn.hook_q", { .queries(layer: $0) }),
        ("attn.hook_k", { .keys(layer: $0) }),
        ("attn.hook_v", { .values(layer: $0) }),
    ]

    /// The TransformerLens-style name, e.g. `blocks.9.attn.hook_z`.
    public var description: String {
        let suffix: String =
            switch self {
            case .residualPre: "hook_resid_pre"
            case .residualMid: "hook_resid_mid"
            case .residualPost: "hook_resid_post"
            case .attentionOut: "hook_attn_out"
            case .headOutput: "attn.hook_z"
            case .mlpHidden: "mlp.hook_post"
            case .mlpOut: "hook_mlp_out"
            case .queries: "attn.hook_q"
            case .keys: "attn.hook_k"
            case .values: "attn.hook_v"
            }
        return "blocks.\(layer).\(suffix)"
    }

    /// Parses the printed form; `nil` when it is not one.
    public init?(name: String) {
        let parts = name.split(separator: ".", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "blocks", let l = Int(parts[1]), l >= 0,
            let make = Self.suffixes.first(where: { $0.0 == parts[2] })?.1
        else { return nil }
        self = make(l)
    }

    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let site = ActivationSite(name: name) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "unknown site '\(name)'"))
        }
        self = site
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
