/// A list of layers written as text: `all`, `every:K` (0, K, 2K, …) or a comma list (`0,6,12`),
/// as `locus trace --layers` and the analysis methods' `layers` parameter take it.
public enum LayerList {
    /// The layers of `text` in a model of `count` layers; nil when the text is none of the three
    /// forms or names a layer outside 0..<count.
    public static func parse(_ text: String, count: Int) -> [Int]? {
        if text == "all" { return Array(0..<count) }
        if text.hasPrefix("every:"), let k = Int(text.dropFirst(6)), k > 0 {
            return Array(stride(from: 0, to: count, by: k))
        }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let list = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !list.isEmpty, list.count == parts.count, list.allSatisfy({ $0 >= 0 && $0 < count }) else { return nil }
        return list
    }
}
