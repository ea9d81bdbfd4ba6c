/// Typed access to GGUF metadata. The optional accessors return `nil` both when the key is absent
/// and when its value has another type; the `required…` ones throw `.malformed` naming the key.
///
/// Keys follow llama.cpp: `general.architecture`, then `<arch>.block_count`,
/// `<arch>.embedding_length`, `<arch>.attention.head_count`, … and `tokenizer.ggml.tokens`,
/// `tokenizer.ggml.merges`, `tokenizer.ggml.bos_token_id`, ….
public extension GGUFFile {
    func metadata(_ key: String) -> GGUFValue? { metadata[key] }

    func string(_ key: String) -> String? { metadata[key]?.string }

    /// Any integer type, widened to `Int`.
    func int(_ key: String) -> Int? { metadata[key]?.int }

    /// Any float or integer type, widened to `Double`.
    func double(_ key: String) -> Double? { metadata[key]?.double }

    func bool(_ key: String) -> Bool? { metadata[key]?.bool }

    /// An array whose elements are all strings.
    func stringArray(_ key: String) -> [String]? { elements(key, \.string) }

    /// An array whose elements are all integers, widened to `Int`.
    func intArray(_ key: String) -> [Int]? { elements(key, \.int) }

    /// An array whose elements are all numbers, widened to `Double`.
    func doubleArray(_ key: String) -> [Double]? { elements(key, \.double) }

    func requiredString(_ key: String) throws(CheckpointError) -> String {
        try required(key, "a string", string(key))
    }

    func requiredInt(_ key: String) throws(CheckpointError) -> Int {
        try required(key, "an integer", int(key))
    }

    func requiredDouble(_ key: String) throws(CheckpointError) -> Double {
        try required(key, "a number", double(key))
    }

    private func elements<T>(_ key: String, _ convert: (GGUFValue) -> T?) -> [T]? {
        guard let array = metadata[key]?.array else { return nil }
        var result: [T] = []
        result.reserveCapacity(array.count)
        for element in array {
            guard let value = convert(element) else { return nil }
            result.append(value)
        }
        return result
    }

    private func required<T>(
        _ key: String, _ kind: String, _ value: T?
    ) throws(CheckpointError) -> T {
        guard let value else {
            let found = metadata[key].map { "found \($0)" } ?? "missing"
            throw error(.malformed("metadata '\(key)' should be \(kind), \(found)"))
        }
        return value
    }
}
