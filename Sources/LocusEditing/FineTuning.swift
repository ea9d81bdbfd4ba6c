import Foundation
import LocusCore
import LocusModel

/// FT-L (Zhu et al. 2020, as the ROME paper's baseline): Adam on one layer's MLP output
/// projection (`LayerWeights.mlpOutputProjection`, (C, F) in every family) to minimise the target NLL of the prompt, each step followed by an L∞ clamp of
/// the weights to ±ε around the originals.
public struct FineTuningHyperparameters: Sendable, Equatable, Codable {
    public var layer: Int
    public var steps: Int = 25
    public var learningRate: Double = 5e-4
    /// ε of the L∞ constraint ‖W − W₀‖∞ ≤ ε.
    public var normConstraint: Float = 5e-4
    public var stopLoss: Double = 0.01

    public init(layer: Int) { self.layer = layer }
}

public enum FineTuning {
    /// Edits in place; returns the backup that undoes it and the NLL per step.
    public static func edit(
        _ request: EditRequest, languageModel: LanguageModel, hyper: FineTuningHyperparameters
    ) throws -> (backup: WeightBackup, losses: [Double]) {
        let model = languageModel.model
        let prompt = languageModel.tokenizer.encodePrompt(request.prompt)
        let target = request.targetTokens(languageModel.tokenizer)
        let input = prompt + target.dropLast()
        let targets = target.enumerated().map {
            TokenTarget(sequence: 0, position: prompt.count - 1 + $0.offset, token: $0.element)
        }
        let backup = WeightBackup(model: model, layers: [hyper.layer])
        let original = backup.original[hyper.layer]!
        let down = model.weights.layers[hyper.layer].mlpOutputProjection.makeDense()  // (C, F)
        var w = original
        var adam = AdamW(parameterCount: w.count)
        var losses: [Double] = []
        let tape = ForwardTape()
        let selector = WeightSelector.mlpDown(layer: hyper.layer)
        for _ in 0..<hyper.steps {
            let logp = try model.forwardForTraining([input], targets: targets, tape: tape)
            let nll = -logp.reduce(0.0) { $0 + Double($1) } / Double(target.count)
            losses.append(nll)
            if nll < hyper.stopLoss { break }
            let g = [Float](repeating: -1 / Float(target.count), count: target.count)
            let grads = model.backward(tape, logProbabilityGradients: g, sites: [], weights: [selector])
            adam.update(&w, gradient: grads.weights[selector]!, learningRate: hyper.learningRate)
            let eps = hyper.normConstraint
            for i in w.indices { w[i] = min(max(w[i], original[i] - eps), original[i] + eps) }
            w.withUnsafeBufferPointer { down.pointer.update(from: $0.baseAddress!, count: $0.count) }
        }
        return (backup, losses)
    }
}
