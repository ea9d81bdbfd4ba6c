import LocusModel

/// A self-contained group of sequences for one scored item: the sequences (targets, their
/// resampling sources and sub-runs), each sequence's edits (`.resample` indices are local to the
/// unit), and which local sequence is the item's k-th scored sequence.
public struct RunUnit: Sendable {
    public var item: Int
    public var sequences: [[Int]] = []
    public var edits: [[AblationEdit]] = []
    public var targets: [Int] = []

    public init(item: Int) { self.item = item }

    /// Appends a sequence and returns its local index.
    public mutating func append(_ tokens: [Int], edits: [AblationEdit] = []) -> Int {
        sequences.append(tokens)
        self.edits.append(edits)
        return sequences.count - 1
    }
}

/// Runs many units in packed forward calls of about `tokensPerCall` tokens and scores each unit's
/// item. Unedited sequences with the same tokens are computed once per call (clean resampling
/// sources shared between units).
public struct BatchExecutor {
    public let model: DecoderModel
    public let alignment: PositionAlignment
    public let tokensPerCall: Int

    public init(model: DecoderModel, alignment: PositionAlignment = .start, tokensPerCall: Int = 1024) {
        self.model = model
        self.alignment = alignment
        self.tokensPerCall = tokensPerCall
    }

    /// One score per unit, in order. `progress(done, total)` after each forward call.
    public func score(
        _ units: [RunUnit], items: [ScrubItem], progress: ((Int, Int) -> Void)? = nil
    ) throws -> [Double] {
        var scores = [Double](repeating: .nan, count: units.count)
        var start = 0
        while start < units.count {
            var end = start
            var tokens = 0
            while end < units.count {
                let t = units[end].sequences.reduce(0) { $0 + $1.count }
                if end > start && tokens + t > tokensPerCall { break }
                tokens += t
                end += 1
            }
            try run(units, range: start..<end, items: items, into: &scores)
            progress?(end, units.count)
            start = end
        }
        return scores
    }

    func run(_ units: [RunUnit], range: Range<Int>, items: [ScrubItem], into scores: inout [Double])
        throws
    {
        var sequences: [[Int]] = []
        var edits: [[AblationEdit]] = []
        var clean: [[Int]: Int] = [:]
        var maps: [[Int]] = []
        for u in range {
            let unit = units[u]
            // Local → global indices; edited sequences are appended in local order, so a source
            // with a higher local index keeps a higher global index than its target.
            var map = [Int](repeating: -1, count: unit.sequences.count)
            for (i, tokens) in unit.sequences.enumerated() {
                if unit.edits[i].isEmpty, let g = clean[tokens] {
                    map[i] = g
                    continue
                }
                map[i] = sequences.count
                if unit.edits[i].isEmpty { clean[tokens] = sequences.count }
                sequences.append(tokens)
                edits.append([])
            }
            for (i, list) in unit.edits.enumerated() where !list.isEmpty {
                edits[map[i]] = list.map { edit in
                    var e = edit
                    if case .resample(let j) = edit.operation { e.operation = .resample(sourceSequence: map[j]) }
                    return e
                }
            }
            maps.append(map)
        }
        let hook = AblationHook(edits: edits, alignment: alignment)
        let logits = try model.forward(sequences, hooks: edits.allSatisfy(\.isEmpty) ? [] : [hook], logits: .all)
        for (k, u) in range.enumerated() {
            let unit = units[u]
            let item = items[unit.item]
            scores[u] = item.score { s, t in
                let g = maps[k][unit.targets[s]]
                return logits.logProbability(of: sequences[g][t], sequence: g, position: t - 1)
            }
        }
    }
}
