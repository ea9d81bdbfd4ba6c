/// One sequence's rows inside a packed batch.
public struct SequenceSpan: Sendable, Equatable {
    /// Index of the sequence's first row in the packed activation.
    public var rowStart: Int
    /// Number of rows (new tokens) of this sequence in this forward call.
    public var rowCount: Int
    /// Absolute position of the first row (the KV cache's length before this call).
    public var firstPosition: Int

    public init(rowStart: Int, rowCount: Int, firstPosition: Int) {
        self.rowStart = rowStart
        self.rowCount = rowCount
        self.firstPosition = firstPosition
    }

    /// The row of absolute position `p`, or `nil` when `p` is not computed in this call.
    public func row(ofPosition p: Int) -> Int? {
        let i = p - firstPosition
        return i >= 0 && i < rowCount ? rowStart + i : nil
    }
}

/// The activation at one site over a packed batch: rows are tokens, sequence after sequence.
///
/// Valid only during the hook call; copy what you keep.
public struct ActivationBatch {
    public let site: ActivationSite
    /// (N, width), N = Σ rowCount, row-major.
    public let values: UnsafeMutablePointer<Float>
    public let width: Int
    public let sequences: [SequenceSpan]

    public init(
        site: ActivationSite, values: UnsafeMutablePointer<Float>, width: Int,
        sequences: [SequenceSpan]
    ) {
        self.site = site
        self.values = values
        self.width = width
        self.sequences = sequences
    }

    public var rowCount: Int { sequences.last.map { $0.rowStart + $0.rowCount } ?? 0 }

    /// The row of absolute position `position` of sequence `sequence`, or `nil` if not in this call.
    public func row(sequence: Int, position: Int) -> UnsafeMutableBufferPointer<Float>? {
        guard let r = sequences[sequence].row(ofPosition: position) else { return nil }
        return UnsafeMutableBufferPointer(start: values + r * width, count: width)
    }
}

/// Something that looks at (and may change) activations during a forward pass.
///
/// The forward pass knows only this protocol and the typed site; concrete hooks (recording,
/// patching, steering, ablation) live in the layers above. A hook that only reads must leave the
/// logits bit-identical.
public protocol ActivationHook: AnyObject {
    /// The sites this hook wants; the forward pass calls it at no others.
    var sites: Set<ActivationSite> { get }
    /// Called once per forward call at each wanted site, after the activation is computed and
    /// before anything downstream reads it. Writes to `batch.values` change the forward pass.
    func visit(_ batch: ActivationBatch)
}

/// A hook whose edit is not a constant shift, so the backward pass must carry the gradient
/// through it: given ∂loss/∂(activation after the hook), it writes ∂loss/∂(activation before
/// the hook), in place. Hooks that do not conform are treated as additive edits (Jacobian = I),
/// which is exact for vector additions.
public protocol DifferentiableHook: ActivationHook {
    /// `gradient.values` holds ∂loss/∂a′ for the whole batch at `gradient.site`; replace it by
    /// ∂loss/∂a. Uses what the hook saw in its last `visit`.
    func backpropagate(_ gradient: ActivationBatch)
}
