public extension TensorSource {
    /// The tensor's floats after checking its row-major shape, for loaders that know what each
    /// weight must look like. Throws `.missingTensor` or `.shapeMismatch` naming the tensor.
    func floats(named name: String, shape expected: [Int]) throws -> [Float] {
        guard let found = shape(of: name) else {
            throw CheckpointError(file: url.path, problem: .missingTensor(name))
        }
        guard found == expected else {
            throw CheckpointError(
                file: url.path,
                problem: .shapeMismatch(tensor: name, expected: expected, found: found))
        }
        return try floats(named: name)
    }
}
