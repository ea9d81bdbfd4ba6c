import Foundation

/// A checkpoint's tensors, by name, dequantised to `Float` on request.
///
/// Both `GGUFFile` and `SafetensorsFile` conform, so the model loader does not care which format
/// it was handed. Shapes are reported in **row-major** order, outermost first: a linear layer's
/// weight is `[out, in]` and `y = x·Wᵀ` (GGUF stores `ne` innermost first; the reader reverses it).
public protocol TensorSource: AnyObject {
    /// The file the tensors come from; errors name it.
    var url: URL { get }
    /// Every tensor name, in file order.
    var tensorNames: [String] { get }
    /// Row-major shape of `name`, or `nil` when the checkpoint has no such tensor.
    func shape(of name: String) -> [Int]?
    /// The tensor's elements as `Float`, row-major, dequantised when stored quantised.
    /// - Throws: `CheckpointError` naming the file and the tensor when it is missing, of an
    ///   unsupported type, or its bytes run past the end of the file.
    func floats(named name: String) throws -> [Float]
    /// The same elements written into `buffer`, which must hold exactly the tensor's element
    /// count, so that a loader can fill one preallocated parameter block without a temporary
    /// array. The default implementation copies from `floats(named:)`.
    func floats(named name: String, into buffer: UnsafeMutableBufferPointer<Float>) throws
    /// Tells the source its caller has copied tensor `name` and will not read it soon: a
    /// memory-mapped file drops the tensor's whole pages from the process's resident set (they
    /// are read from the file again if touched). Reading stays correct either way. The default
    /// does nothing.
    func releasePages(of name: String)
}

public extension TensorSource {
    func contains(_ name: String) -> Bool { shape(of: name) != nil }

    func releasePages(of name: String) {}

    func floats(named name: String, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let values = try floats(named: name)
        guard values.count == buffer.count else {
            throw CheckpointError(file: url.path, problem: .shapeMismatch(
                tensor: name, expected: [buffer.count], found: shape(of: name) ?? [values.count]))
        }
        _ = buffer.update(fromContentsOf: values)
    }
}


/// Every failure of checkpoint reading: which file, and what is wrong with it, in words.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    public enum Problem: Equatable, Sendable {
        case cannotOpen(String)
        case badMagic(found: String)
        case unsupportedVersion(UInt32)
        case truncated(String)
        case unsupportedTensorType(tensor: String, type: String)
        case missingTensor(String)
        case malformed(String)
        case shapeMismatch(tensor: String, expected: [Int], found: [Int])
    }
    public let file: String
    public let problem: Problem

    public init(file: String, problem: Problem) {
        self.file = file
        self.problem = problem
    }

    public var description: String {
        let what: String
        switch problem {
        case .cannotOpen(let reason): what = "cannot open: \(reason)"
        case .badMagic(let found): what = "not a recognised checkpoint (bad magic \(found))"
        case .unsupportedVersion(let v): what = "unsupported GGUF version \(v) (expected 2 or 3)"
        case .truncated(let detail): what = "file is truncated: \(detail)"
        case .unsupportedTensorType(let tensor, let type):
            what = "tensor '\(tensor)' has unsupported type \(type)"
        case .missingTensor(let name): what = "tensor '\(name)' not found"
        case .malformed(let detail): what = "malformed: \(detail)"
        case .shapeMismatch(let tensor, let expected, let found):
            what = "tensor '\(tensor)' has shape \(found), expected \(expected)"
        }
        return "\(file): \(what)"
    }
}
