import LocusCore
import Foundation
import LocusCheckpoint
import LocusInterventions
import LocusModel
import LocusTokenizer

/// A trained steering edit on disk: one safetensors file of F32 tensors named `L{l}H{h}.vector`
/// (head-vectors) or `L{l}H{h}.a` / `L{l}H{h}.b` (rank-one), shape (D), with the
/// parameterization, positions, prompt template and heads in the header's `__metadata__`.
/// Files written before issue 11 have no `prompt_template`: they were trained on the bare prompt.
public struct SteeringFile: Equatable, Sendable {
    public static let format = "locus-steering-v1"
    public var parameters: SteeringParameters
    public var positions: SteeringPositions
    /// The prompt the edit was trained in.
    public var promptTemplate: SteeringPromptTemplate

    public init(
        parameters: SteeringParameters, positions: SteeringPositions,
        promptTemplate: SteeringPromptTemplate = .truthfulQA
    ) {
        self.parameters = parameters
        self.positions = positions
        self.promptTemplate = promptTemplate
    }

    public func write(to url: URL) throws {
        let d = parameters.headWidth, p = parameters
        var tensors: [SafetensorsWriter.Tensor] = []
        for (i, head) in p.heads.enumerated() {
            let base = i * p.stride
            switch p.parameterization {
            case .headVectors:
                tensors.append(.init(name: "\(head).vector", shape: [d], values: Array(p.values[base..<(base + d)])))
            case .rankOne:
                tensors.append(.init(name: "\(head).a", shape: [d], values: Array(p.values[base..<(base + d)])))
                tensors.append(.init(name: "\(head).b", shape: [d], values: Array(p.values[(base + d)..<(base + 2 * d)])))
            }
        }
        try SafetensorsWriter.write(
            tensors,
            metadata: [
                "format": Self.format, "parameterization": p.parameterization.rawValue,
                "positions": positions.rawValue, "prompt_template": promptTemplate.rawValue, "heads": p.heads.map(\.description).joined(separator: ","),
                "head_width": String(d),
            ], to: url)
    }

    /// Largest head width a steering file may declare (checked before anything is allocated;
    /// real models use 64–256).
    public static let maximumHeadWidth = 16_384

    /// Reads a steering file, checking its metadata before allocating: a known format, a head
    /// width in 1…`maximumHeadWidth`, distinct well-formed heads, and every tensor present with
    /// shape (D) and finite values. Use `load(_:for:)` to also check it against a model.
    public static func load(_ url: URL) throws -> SteeringFile {
        let file = try SafetensorsFile(url: url)
        func fail(_ why: String) -> CheckpointError {
            CheckpointError(file: url.path, problem: .malformed("steering file: \(why)"))
        }
        let m = file.metadata
        guard m["format"] == format else { throw fail("format is not \(format)") }
        guard let kind = m["parameterization"].flatMap(SteeringParameterization.init(rawValue:)),
            let positions = m["positions"].flatMap(SteeringPositions.init(rawValue:)),
            let width = m["head_width"], let headList = m["heads"]
        else { throw fail("missing parameterization, positions, head_width or heads") }
        guard let template = SteeringPromptTemplate(rawValue: m["prompt_template"] ?? SteeringPromptTemplate.bare.rawValue)
        else { throw fail("unknown prompt_template '\(m["prompt_template"] ?? "")'") }
        guard let d = Int(width), (1...maximumHeadWidth).contains(d) else {
            throw fail("head_width '\(width)' is not an integer in 1…\(maximumHeadWidth)")
        }
        let heads = try headList.split(separator: ",", omittingEmptySubsequences: false).map {
            text -> AttentionHead in
            guard let h = AttentionHead(String(text)) else { throw fail("bad head '\(text)'") }
            return h
        }
        guard !heads.isEmpty else { throw fail("no heads") }
        guard Set(heads).count == heads.count else { throw fail("a head is listed twice") }
        let sortedHeads = heads.sorted()  // the flat layout the hooks expect
        let names = sortedHeads.flatMap { head in
            kind == .headVectors ? ["\(head).vector"] : ["\(head).a", "\(head).b"]
        }
        // Every tensor must be there with shape (D) before the values are allocated.
        for name in names {
            guard let shape = file.shape(of: name) else {
                throw CheckpointError(file: url.path, problem: .missingTensor(name))
            }
            guard shape == [d] else {
                throw CheckpointError(
                    file: url.path, problem: .shapeMismatch(tensor: name, expected: [d], found: shape))
            }
        }
        var values: [Float] = []
        values.reserveCapacity(names.count * d)
        for name in names {
            let v = try file.floats(named: name, shape: [d])
            guard v.allSatisfy(\.isFinite) else { throw fail("tensor '\(name)' has a NaN or infinite value") }
            values += v
        }
        var parameters = SteeringParameters(parameterization: kind, heads: [], headWidth: d, seed: 0)
        parameters.heads = sortedHeads
        parameters.values = values
        return SteeringFile(parameters: parameters, positions: positions, promptTemplate: template)
    }

    /// Reads a steering file and checks it against the model it will edit (see `check(against:)`).
    public static func load(_ url: URL, for config: LlamaConfig) throws -> SteeringFile {
        let file = try load(url)
        try file.check(against: config, file: url.path)
        return file
    }

    /// Checks that the edit fits a model: its head width is the model's, and every head exists
    /// (layer < L, head < H), so no hook can write past a row. Throws naming the file.
    public func check(against config: LlamaConfig, file: String) throws {
        func fail(_ why: String) -> CheckpointError {
            CheckpointError(file: file, problem: .malformed("steering file does not fit this model: \(why)"))
        }
        guard parameters.headWidth == config.headWidth else {
            throw fail("head width \(parameters.headWidth), the model's is \(config.headWidth)")
        }
        for head in parameters.heads where head.layer >= config.layerCount || head.head >= config.headCount {
            throw fail("\(head) does not exist (model has \(config.layerCount) layers × \(config.headCount) heads)")
        }
        guard parameters.values.count == parameters.heads.count * parameters.stride else {
            throw fail("\(parameters.values.count) values for \(parameters.heads.count) heads")
        }
    }

    /// The token count of the template's shared prefix when `text` starts with it, else 0: a
    /// free-form prompt (`locus generate`) is all "question", an MC-style one keeps its
    /// instruction + primer unedited as in training.
    public func sharedPrefixLength(in text: String, tokenizer: any Tokenizer) -> Int {
        let prefix = promptTemplate.sharedPrefix
        return !prefix.isEmpty && text.hasPrefix(prefix) ? tokenizer.encode(prefix).count : 0
    }

    /// Hooks applying the edit to sequences whose shared prefix has `prefixLength` tokens and
    /// whose prompts have these (absolute) lengths: the rule of `SteeringPositions`, as in training.
    public func hooks(prefixLength: Int = 0, promptLengths: [Int]) -> [SteeringHook] {
        parameters.hooks(positions: positions.positions(prefixLength: prefixLength, promptLengths: promptLengths))
    }
}
