import LocusInterventions
import LocusModel
import LocusTensor

extension CausalTracer {
    /// Reber's patching test: for each layer, run the clean prompt with the activation at
    /// `site.at(layer:)` and `position` replaced by the counterfactual prompt's, and return
    /// logit(answer) − logit(alternative). All layers run as one packed batch.
    ///
    /// A negative value means the patch flipped the label to the counterfactual answer.
    public func interchangePatch(
        tokens: [Int], counterfactual: [Int], position: Int, layers: [Int],
        site: ActivationSite = .residualPost(layer: 0), answer: Int, alternative: Int
    ) throws -> [Double] {
        guard tokens.count == counterfactual.count else {
            throw TraceError("prompts differ in length: \(tokens.count) vs \(counterfactual.count)")
        }
        let sites = Set(layers.map { site.at(layer: $0) })
        let recorder = ActivationRecorder(sites: sites, positions: .all)
        _ = try model.forward([counterfactual], hooks: [recorder], logits: .none)
        var source: [ActivationSite: [Float]] = [:]
        for s in sites { source[s] = recorder.recorded[s]![0] }
        let hook = TraceHook(
            noise: [], subject: 0..<0, noiseSample: layers.map { _ in nil },
            restorations: layers.map { [(site.at(layer: $0), position)] }, clean: source)
        let logits = try model.forward(
            Array(repeating: tokens, count: layers.count), hooks: [hook], logits: .last)
        return layers.indices.map { s in
            let row = logits.last(sequence: s)
            return Double(row[answer] - row[alternative])
        }
    }
}
