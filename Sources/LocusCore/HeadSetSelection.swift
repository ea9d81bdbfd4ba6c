import Foundation
import LocusTensor

/// How a set of heads is chosen; recorded in every result so a run can be reproduced. The one
/// selection type of `locus steer --heads`, `locus eval --heads`, recipes' head-set generators
/// and the probing library.
///
/// Printed forms (the `--heads` option): `L12H3,L5H0` · `all` · `random:K:SEED` ·
/// `top:K:RANKING.json` (the first K heads of a probe ranking file's `heads` array).
public enum HeadSetSelection: Equatable, Codable, Sendable, CustomStringConvertible {
    case explicit([AttentionHead])
    case all
    case random(count: Int, seed: UInt64)
    case top(count: Int, rankingFile: String)

    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 2).map(String.init)
        switch parts.first?.lowercased() {
        case "all" where parts.count == 1: self = .all
        case "random":
            guard parts.count == 3, let k = Int(parts[1]), k > 0, let seed = UInt64(parts[2]) else {
                throw HeadSelectionError("expected random:K:SEED, got '\(text)'")
            }
            self = .random(count: k, seed: seed)
        case "top":
            guard parts.count == 3, let k = Int(parts[1]), k > 0 else {
                throw HeadSelectionError("expected top:K:RANKING.json, got '\(text)'")
            }
            self = .top(count: k, rankingFile: parts[2])
        default:
            let heads = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let parsed = heads.compactMap(AttentionHead.init)
            guard !heads.isEmpty, parsed.count == heads.count else {
                throw HeadSelectionError(
                    "'\(text)' is not a head list (L12H3,L5H0), all, random:K:SEED or top:K:FILE")
            }
            self = .explicit(parsed)
        }
    }

    public var description: String {
        switch self {
        case .explicit(let heads): heads.map(\.description).joined(separator: ",")
        case .all: "all"
        case .random(let k, let seed): "random:\(k):\(seed)"
        case .top(let k, let file): "top:\(k):\(file)"
        }
    }

    /// The heads, sorted, checked against the model's shape.
    public func resolve(in shape: ModelShape) throws -> [AttentionHead] {
        let heads: [AttentionHead]
        switch self {
        case .explicit(let list): heads = list
        case .all: heads = AttentionHead.all(in: shape)
        case .random(let k, let seed):
            guard k <= shape.totalHeads else {
                throw HeadSelectionError("asked for \(k) random heads of \(shape.totalHeads)")
            }
            heads = Self.randomHeads(k, in: shape, seed: seed)
        case .top(let k, let file):
            heads = Array(try HeadRanking.load(URL(fileURLWithPath: file)).prefix(k))
            guard heads.count == k else {
                throw HeadSelectionError("\(file) ranks only \(heads.count) heads, asked for \(k)")
            }
        }
        for head in heads where !shape.contains(head) {
            throw HeadSelectionError(
                "\(head) does not exist (model has \(shape.layerCount) layers × \(shape.headCount) heads)")
        }
        guard Set(heads).count == heads.count else { throw HeadSelectionError("duplicate heads") }
        return heads.sorted()
    }

    /// k distinct heads drawn uniformly by a seeded partial Fisher–Yates over the (layer, head)
    /// pairs in layer-major order. Sorted unless `keepOrder` (then in draw order, which recipes'
    /// `randomSingle` generator uses). The one random draw of `random:K:SEED`, recipes' `random`
    /// sets and the probing library, so a set is reproducible from its printed selection.
    public static func randomHeads(_ k: Int, in shape: ModelShape, seed: UInt64, keepOrder: Bool = false)
        -> [AttentionHead]
    {
        let total = shape.totalHeads
        precondition(k >= 0 && k <= total, "cannot draw \(k) of \(total) heads")
        var g = SeededGenerator(seed: seed)
        var pool = Array(0..<total)
        for i in 0..<k {
            let j = i + Int(g.next() % UInt64(total - i))
            pool.swapAt(i, j)
        }
        let chosen = pool.prefix(k).map { AttentionHead(layer: $0 / shape.headCount, head: $0 % shape.headCount) }
        return keepOrder ? chosen : chosen.sorted()
    }
}

/// Reads the ranked head list of a probe ranking file: `{"heads": [{"layer": l, "head": h, ...},
/// ...]}` in rank order (best first). Other fields are ignored here.
public enum HeadRanking {
    public static func load(_ url: URL) throws -> [AttentionHead] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw HeadSelectionError("cannot read ranking file \(url.path): \(error.localizedDescription)")
        }
        let root: JSONValue
        do { root = try JSONValue.parse(text, file: url.path) } catch {
            throw HeadSelectionError("\(error)")
        }
        guard let list = root["heads"]?.array else {
            throw HeadSelectionError("\(url.path): expected an object with a 'heads' array")
        }
        return try list.enumerated().map { i, entry in
            guard let l = entry["layer"]?.int, let h = entry["head"]?.int else {
                throw HeadSelectionError("\(url.path): heads[\(i)] needs integer 'layer' and 'head'")
            }
            return AttentionHead(layer: l, head: h)
        }
    }
}

public struct HeadSelectionError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
