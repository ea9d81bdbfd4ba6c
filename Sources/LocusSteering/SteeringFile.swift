import LocusCore
import Foundation
import LocusCheckpoint
import LocusInterventions
import LocusModel
import LocusTokenizer

/// A trained steering edit on disk: one safetensors file of F32 tensors named `L{l}H{h}.vector`
/// (head-vectors), `L{l}H{h}.a` / `L{l}H{h}.b` (rank-one), shape (D), or `L{l}.residual`
/// (residual), shape (C), with the parameterization, positions, prompt template (and its
/// pattern for chat/custom), heads or layer, objective and answer scoring in the header's
/// `__metadata__`. Files written before issue 11 have no `prompt_template`: they were trained on
/// the bare prompt; files before issue 15 have no `objective`/`length_normalized`.
public struct SteeringFile: Equatable, Sendable {
    public static let format = "locus-steering-v1"
    public var parameters: SteeringParameters
    public var positions: SteeringPositions
    /// The prompt the edit was trained in.
    public var promptTemplate: SteeringPromptTemplate
    /// The preference loss it was trained with (nil in files before issue 15).
    public var objective: PreferenceObjective?
    /// Whether answer log-probs were length-normalised in training (nil before issue 15).
    public var lengthNormalized: Bool?
    /// sha256 of the preference file's bytes it was trained on (nil for TruthfulQA and before
    /// issue 15).
    public var dataSHA256: String?

    public init(
        parameters: SteeringParameters, positions: SteeringPositions,
        promptTemplate: SteeringPromptTemplate = .truthfulQA, objective: PreferenceObjective? = nil,
        lengthNormalized: Bool? = nil, dataSHA256: String? = nil
    ) {
        self.dataSHA256 = dataSHA256
        self.parameters = parameters
        self.positions = positions
        self.promptTemplate = promptTemplate
        self.objective = objective
        self.lengthNormalized = lengthNormalized
    }

    /// The tensor names of an edit, in the flat layout's order.
    static func tensorNames(_ p: SteeringParameters) -> [String] {
        if p.parameterization == .residual { return ["L\(p.residualLayer ?? 0).residual"] }
        return p.heads.flatMap { head in
            p.parameterization == .headVectors ? ["\(head).vector"] : ["\(head).a", "\(head).b"]
        }
    }

    public func write(to url: URL) throws {
        let d = parameters.headWidth, p = parameters
        let tensors = Self.tensorNames(p).enumerated().map { i, name in
            SafetensorsWriter.Tensor(name: name, shape: [d], values: Array(p.values[(i * d)..<((i + 1) * d)]))
        }
        var metadata = [
            "format": Self.format, "parameterization": p.parameterization.rawValue,
            "positions": positions.rawValue, "prompt_template": promptTemplate.rawValue,
        ]
        if let residualLayer = p.residualLayer {
            metadata["layer"] = String(residualLayer)
            metadata["site"] = ActivationSite.residualPost(layer: residualLayer).description
            metadata["width"] = String(d)
        } else {
            metadata["heads"] = p.heads.map(\.description).joined(separator: ",")
            metadata["head_width"] = String(d)
        }
        if let pattern = promptTemplate.pattern { metadata["prompt_template_text"] = pattern }
        switch objective {
        case .ipo(let tau)?: metadata["objective"] = "ipo"; metadata["tau"] = "\(tau)"
        case .dpo(let beta)?: metadata["objective"] = "dpo"; metadata["beta"] = "\(beta)"
        case nil: break
        }
        if let lengthNormalized { metadata["length_normalized"] = lengthNormalized ? "true" : "false" }
        if let dataSHA256 { metadata["data_sha256"] = dataSHA256 }
        try SafetensorsWriter.write(tensors, metadata: metadata, to: url)
    }

    /// Largest head width (or residual width) a steering file may declare (checked before
    /// anything is allocated; real models use 64–256 per head, up to ~16k residual).
    public static let maximumHeadWidth = 16_384

    /// Reads a steering file, checking its metadata before allocating: a known format, a head
    /// width in 1…`maximumHeadWidth`, distinct well-formed heads (or one layer), and every tensor
    /// present with shape (D) and finite values. Use `load(_:for:)` to also check it against a model.
    public static func load(_ url: URL) throws -> SteeringFile {
        let file = try SafetensorsFile(url: url)
        func fail(_ why: String) -> CheckpointError {
            CheckpointError(file: url.path, problem: .malformed("steering file: \(why)"))
        }
        let m = file.metadata
        guard m["format"] == format else { throw fail("format is not \(format)") }
        guard let kind = m["parameterization"].flatMap(SteeringParameterization.init(rawValue:)),
            let positions = m["positions"].flatMap(SteeringPositions.init(rawValue:))
        else { throw fail("missing or unknown parameterization or positions") }
        let templateName = m["prompt_template"] ?? SteeringPromptTemplate.bare.rawValue
        guard let template = SteeringPromptTemplate(rawValue: templateName, pattern: m["prompt_template_text"])
        else { throw fail("unknown prompt_template '\(templateName)' (chat/custom need a prompt_template_text with one {prompt})") }
        var objective: PreferenceObjective? = nil
        if let name = m["objective"] {
            let key = name == "ipo" ? "tau" : "beta"
            guard name == "ipo" || name == "dpo", let value = m[key].flatMap(Double.init), value > 0, value.isFinite else {
                throw fail("objective '\(name)' needs ipo with a positive tau or dpo with a positive beta")
            }
            objective = name == "ipo" ? .ipo(tau: value) : .dpo(beta: value)
        }
        var lengthNormalized: Bool? = nil
        if let text = m["length_normalized"] {
            guard text == "true" || text == "false" else { throw fail("length_normalized '\(text)' is not true or false") }
            lengthNormalized = text == "true"
        }
        var parameters: SteeringParameters
        if kind == .residual {
            guard let layerText = m["layer"], let layer = Int(layerText), layer >= 0 else {
                throw fail("a residual edit needs a non-negative integer 'layer'")
            }
            guard let width = m["width"], let d = Int(width), (1...maximumHeadWidth).contains(d) else {
                throw fail("width '\(m["width"] ?? "")' is not an integer in 1…\(maximumHeadWidth)")
            }
            parameters = SteeringParameters(residualLayer: layer, width: d)
        } else {
            guard let width = m["head_width"], let headList = m["heads"] else { throw fail("missing head_width or heads") }
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
            parameters = SteeringParameters(parameterization: kind, heads: [], headWidth: d, seed: 0)
            parameters.heads = heads.sorted()  // the flat layout the hooks expect
        }
        let d = parameters.headWidth
        let names = tensorNames(parameters)
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
        parameters.values = values
        return SteeringFile(
            parameters: parameters, positions: positions, promptTemplate: template, objective: objective,
            lengthNormalized: lengthNormalized, dataSHA256: m["data_sha256"])
    }

    /// Reads a steering file and checks it against the model it will edit (see `check(against:)`).
    public static func load(_ url: URL, for config: ModelConfig) throws -> SteeringFile {
        let file = try load(url)
        try file.check(against: config, file: url.path)
        return file
    }

    /// Checks that the edit fits a model: its head width is the model's, and every head exists
    /// (layer < L, head < H), so no hook can write past a row. Throws naming the file.
    public func check(against config: ModelConfig, file: String) throws {
        func fail(_ why: String) -> CheckpointError {
            CheckpointError(file: file, problem: .malformed("steering file does not fit this model: \(why)"))
        }
        if let layer = parameters.residualLayer {
            guard parameters.headWidth == config.hiddenSize else {
                throw fail("residual width \(parameters.headWidth), the model's is \(config.hiddenSize)")
            }
            guard layer < config.layerCount else {
                throw fail("layer \(layer) does not exist (model has \(config.layerCount) layers)")
            }
            guard parameters.values.count == parameters.headWidth else {
                throw fail("\(parameters.values.count) values for a residual vector of width \(parameters.headWidth)")
            }
            return
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
        return !prefix.isEmpty && text.hasPrefix(prefix) ? tokenizer.encodePrompt(prefix).count : 0
    }

    /// The same file with its edit multiplied by `factor` (`SteeringParameters.scaled(by:)`).
    public func scaled(by factor: Float) -> SteeringFile {
        var copy = self
        copy.parameters = parameters.scaled(by: factor)
        return copy
    }

    /// Hooks applying the edit to sequences whose shared prefix has `prefixLength` tokens and
    /// whose prompts have these (absolute) lengths: the rule of `SteeringPositions`, as in training.
    public func hooks(prefixLength: Int = 0, promptLengths: [Int]) -> [SteeringHook] {
        parameters.hooks(positions: positions.positions(prefixLength: prefixLength, promptLengths: promptLengths))
    }

    /// Hooks for one prompt `text` of `tokenCount` tokens (`locus generate`, `locus logits`): its
    /// shared prefix, when `text` starts with the template's, is found with `tokenizer`.
    public func hooks(forPrompt text: String, tokenCount: Int, tokenizer: any Tokenizer) -> [SteeringHook] {
        hooks(prefixLength: sharedPrefixLength(in: text, tokenizer: tokenizer), promptLengths: [tokenCount])
    }
}
