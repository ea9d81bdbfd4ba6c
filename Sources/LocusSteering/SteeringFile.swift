import Foundation
import LocusCheckpoint
import LocusInterventions
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

    public static func load(_ url: URL) throws -> SteeringFile {
        let file = try SafetensorsFile(url: url)
        func fail(_ why: String) -> CheckpointError {
            CheckpointError(file: url.path, problem: .malformed("steering file: \(why)"))
        }
        let m = file.metadata
        guard m["format"] == format else { throw fail("format is not \(format)") }
        guard let kind = m["parameterization"].flatMap(SteeringParameterization.init(rawValue:)),
            let positions = m["positions"].flatMap(SteeringPositions.init(rawValue:)),
            let d = m["head_width"].flatMap(Int.init), let headList = m["heads"]
        else { throw fail("missing parameterization, positions, head_width or heads") }
        guard let template = SteeringPromptTemplate(rawValue: m["prompt_template"] ?? SteeringPromptTemplate.bare.rawValue)
        else { throw fail("unknown prompt_template '\(m["prompt_template"] ?? "")'") }
        let heads = try headList.split(separator: ",").map { text -> AttentionHead in
            guard let h = AttentionHead(String(text)) else { throw fail("bad head '\(text)'") }
            return h
        }
        var parameters = SteeringParameters(parameterization: kind, heads: heads, headWidth: d, seed: 0)
        var values: [Float] = []
        for head in parameters.heads {
            let names = kind == .headVectors ? ["\(head).vector"] : ["\(head).a", "\(head).b"]
            for name in names { values += try file.floats(named: name, shape: [d]) }
        }
        parameters.values = values
        return SteeringFile(parameters: parameters, positions: positions, promptTemplate: template)
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
