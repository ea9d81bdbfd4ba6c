import Foundation
import LocusModel
import LocusTensor

/// One attention head: layer l, query head h. Its output is columns h·D..<(h+1)·D of the site
/// `.headOutput(layer: l)`. Printed `L{l}H{h}` (the form head lists use on the command line).
public struct AttentionHead: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public var layer: Int
    public var head: Int

    public init(layer: Int, head: Int) {
        self.layer = layer
        self.head = head
    }

    public var description: String { "L\(layer)H\(head)" }

    public static func < (a: AttentionHead, b: AttentionHead) -> Bool {
        (a.layer, a.head) < (b.layer, b.head)
    }

    /// Parses `L12H3` (case-insensitive); `nil` otherwise.
    public init?(_ text: String) {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        guard t.hasPrefix("L"), let h = t.firstIndex(of: "H"),
            let layer = Int(t[t.index(after: t.startIndex)..<h]),
            let head = Int(t[t.index(after: h)...]), layer >= 0, head >= 0
        else { return nil }
        self.init(layer: layer, head: head)
    }

    /// Every head of a model, layer-major.
    public static func all(in config: LlamaConfig) -> [AttentionHead] {
        (0..<config.layerCount).flatMap { l in
            (0..<config.headCount).map { AttentionHead(layer: l, head: $0) }
        }
    }
}

/// How a set of heads is chosen; recorded in every result so a run can be reproduced.
///
/// Printed forms (the `--heads` option): `L12H3,L5H0` · `all` · `random:K:SEED` ·
/// `top:K:RANKING.json` (the first K heads of a probe ranking file's `heads` array).
public enum HeadSelection: Equatable, Codable, Sendable, CustomStringConvertible {
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
    public func resolve(in config: LlamaConfig) throws -> [AttentionHead] {
        let everyHead = AttentionHead.all(in: config)
        let heads: [AttentionHead]
        switch self {
        case .explicit(let list): heads = list
        case .all: heads = everyHead
        case .random(let k, let seed):
            guard k <= everyHead.count else {
                throw HeadSelectionError("asked for \(k) random heads of \(everyHead.count)")
            }
            var g = SeededGenerator(seed: seed)
            var pool = everyHead
            for i in 0..<k {  // partial Fisher–Yates: the first k are a uniform sample
                let j = i + Int(g.next() % UInt64(pool.count - i))
                pool.swapAt(i, j)
            }
            heads = Array(pool.prefix(k))
        case .top(let k, let file):
            heads = Array(try HeadRanking.load(URL(fileURLWithPath: file)).prefix(k))
            guard heads.count == k else {
                throw HeadSelectionError("\(file) ranks only \(heads.count) heads, asked for \(k)")
            }
        }
        for head in heads where head.layer >= config.layerCount || head.head >= config.headCount {
            throw HeadSelectionError(
                "\(head) does not exist (model has \(config.layerCount) layers × \(config.headCount) heads)")
        }
        guard Set(heads).count == heads.count else { throw HeadSelectionError("duplicate heads") }
        return heads.sorted()
    }
}

/// Reads the ranked head list of a probe ranking file: `{"heads": [{"layer": l, "head": h, ...},
/// ...]}` in rank order (best first). Other fields are ignored here.
public enum HeadRanking {
    public static func load(_ url: URL) throws -> [AttentionHead] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw HeadSelectionError("cannot read ranking file \(url.path): \(error.localizedDescription)")
        }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let list = root["heads"] as? [[String: Any]]
        else { throw HeadSelectionError("\(url.path): expected an object with a 'heads' array") }
        return try list.enumerated().map { i, entry in
            guard let l = entry["layer"] as? Int, let h = entry["head"] as? Int else {
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
