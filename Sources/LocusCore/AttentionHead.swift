import Foundation

/// One attention head: layer l, query head h (both 0-based). Its output is columns
/// h·D..<(h+1)·D of the site `.headOutput(layer: l)`.
///
/// Printed `L{l}H{h}` (`L12H3`), the form head lists take on the command line, in recipes and in
/// run records. `AttentionHead("…")` is the one parser of that form: it accepts either case
/// (`L12H3`, `l12h3`, `L12h3`), ignores surrounding white space, and always prints upper case;
/// anything else (signs, spaces inside, missing numbers) is `nil`. Encoded by `Codable` as
/// `{"layer": l, "head": h}` (the probe ranking file's form).
public struct AttentionHead: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public var layer: Int
    public var head: Int

    public init(layer: Int, head: Int) {
        self.layer = layer
        self.head = head
    }

    public var description: String { "L\(layer)H\(head)" }

    /// Layer-major: (layer, head) lexicographically.
    public static func < (a: AttentionHead, b: AttentionHead) -> Bool {
        (a.layer, a.head) < (b.layer, b.head)
    }

    /// Parses `L12H3` (either case, surrounding white space ignored); `nil` otherwise.
    public init?(_ text: String) {
        let t = Array(text.trimmingCharacters(in: .whitespaces).uppercased().utf8)
        guard t.first == UInt8(ascii: "L"), let h = t.firstIndex(of: UInt8(ascii: "H")) else { return nil }
        func number(_ digits: ArraySlice<UInt8>) -> Int? {
            guard !digits.isEmpty, digits.count <= 9,
                digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
            else { return nil }
            return digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        }
        guard let layer = number(t[1..<h]), let head = number(t[(h + 1)...]) else { return nil }
        self.init(layer: layer, head: head)
    }

    /// Every head of a model of `shape`, layer-major.
    public static func all(in shape: ModelShape) -> [AttentionHead] {
        (0..<shape.layerCount).flatMap { l in (0..<shape.headCount).map { AttentionHead(layer: l, head: $0) } }
    }
}

/// The head grid of a model: layers × query heads per layer (what head sets are drawn from).
public struct ModelShape: Codable, Hashable, Sendable {
    public var layerCount: Int
    public var headCount: Int

    public init(layerCount: Int, headCount: Int) {
        self.layerCount = layerCount
        self.headCount = headCount
    }

    public var totalHeads: Int { layerCount * headCount }

    /// Whether `head` exists in this model.
    public func contains(_ head: AttentionHead) -> Bool {
        head.layer >= 0 && head.layer < layerCount && head.head >= 0 && head.head < headCount
    }
}
