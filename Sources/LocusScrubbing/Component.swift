import LocusCore
import LocusInterventions
import LocusModel

/// A node of the model graph a hypothesis can name: the token embeddings, one attention head,
/// one MLP, or the residual stream at one site and position.
///
/// Printed forms: `embed`, `L5H1`, `mlp5`, `resid_pre5@-1` (also `resid_mid`, `resid_post`;
/// the position may be negative, counted from the end).
public enum Component: Hashable, Codable, Sendable, CustomStringConvertible {
    case embedding
    case head(AttentionHead)
    case mlp(Int)
    case residual(ActivationSite, position: Int)

    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "embed" {
            self = .embedding
        } else if let head = AttentionHead(t) {
            self = .head(head)
        } else if t.lowercased().hasPrefix("mlp"), let l = Int(t.dropFirst(3)), l >= 0 {
            self = .mlp(l)
        } else if t.hasPrefix("resid_"), let at = t.firstIndex(of: "@"),
            let position = Int(t[t.index(after: at)...])
        {
            let body = t[t.index(t.startIndex, offsetBy: 6)..<at]
            let kinds: [(String, (Int) -> ActivationSite)] = [
                ("pre", { .residualPre(layer: $0) }), ("mid", { .residualMid(layer: $0) }),
                ("post", { .residualPost(layer: $0) }),
            ]
            guard let kind = kinds.first(where: { body.hasPrefix($0.0) }),
                let l = Int(body.dropFirst(kind.0.count)), l >= 0
            else { throw ScrubError("bad residual component '\(text)' (resid_pre5@-1)") }
            self = .residual(kind.1(l), position: position)
        } else {
            throw ScrubError("unknown component '\(text)' (embed, L5H1, mlp5, resid_pre5@-1)")
        }
    }

    public var description: String {
        switch self {
        case .embedding: return "embed"
        case .head(let h): return h.description
        case .mlp(let l): return "mlp\(l)"
        case .residual(let site, let p):
            let kind: String
            switch site {
            case .residualMid: kind = "mid"
            case .residualPost: kind = "post"
            default: kind = "pre"
            }
            return "resid_\(kind)\(site.layer)@\(p)"
        }
    }

    public init(from decoder: Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    /// Where the component's output lives: the embeddings are the residual entering block 0, a
    /// head its columns of z (its contribution is W_o of them), an MLP its output.
    public func slice(config: ModelConfig) -> ComponentSlice {
        switch self {
        case .embedding: return ComponentSlice(site: .residualPre(layer: 0))
        case .head(let h): return .head(h, config: config)
        case .mlp(let l): return ComponentSlice(site: .mlpOut(layer: l))
        case .residual(let site, let p): return ComponentSlice(site: site, positions: [p])
        }
    }

    /// Order in the forward pass: a component can read only components of a smaller stage.
    public var stage: Double {
        switch self {
        case .embedding: return 0
        case .head(let h): return Double(3 * h.layer) + 1
        case .mlp(let l): return Double(3 * l) + 2
        case .residual(let site, _):
            switch site {
            case .residualMid(let l): return Double(3 * l) + 1.5
            case .residualPost(let l): return Double(3 * l) + 2.5
            default: return Double(3 * site.layer) + 0.5
            }
        }
    }

    public func check(config: ModelConfig) throws {
        let ok: Bool
        switch self {
        case .embedding: ok = true
        case .head(let h): ok = h.layer < config.layerCount && h.head < config.headCount
        case .mlp(let l): ok = l < config.layerCount
        case .residual(let site, _): ok = site.layer < config.layerCount
        }
        if !ok { throw ScrubError("\(self) does not exist in a \(config.layerCount)-layer model") }
        if case .residual(.residualMid(_), _) = self, !config.architecture.hasResidualMid {
            throw ScrubError(
                "\(self) does not exist: \(config.family.displayName) blocks are parallel (attention and"
                    + " MLP read the same input), so there is no residual stream between them")
        }
    }

    /// The graph the scrubber resamples by default: embeddings, every head, every MLP. Their
    /// outputs sum to the final residual stream, so resampling all of them from one input gives
    /// that input's logits.
    public static func all(in config: ModelConfig) -> [Component] {
        [.embedding]
            + (0..<config.layerCount).flatMap { l in
                (0..<config.headCount).map { Component.head(AttentionHead(layer: l, head: $0)) }
                    + [.mlp(l)]
            }
    }
}
