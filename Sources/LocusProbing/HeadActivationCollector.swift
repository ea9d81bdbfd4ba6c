import Foundation
import LocusData
import LocusInterventions
import LocusModel

/// Runs the model over probe samples and keeps z[l, h] at each sample's last token for every
/// layer (one hook on all `.headOutput` sites, no logits). Samples are packed into batches of
/// about `tokensPerBatch` tokens, so each forward call runs large GEMMs.
public struct HeadActivationCollector {
    public let model: LanguageModel
    public var tokensPerBatch: Int

    public init(model: LanguageModel, tokensPerBatch: Int = 1024) {
        self.model = model
        self.tokensPerBatch = tokensPerBatch
    }

    /// Progress: (samples done, samples total, tokens so far).
    public typealias Progress = (Int, Int, Int) -> Void

    public func collect(
        _ samples: [ProbeSample], format: ProbePromptFormat, modelFile: String,
        modelSHA256: String, progress: Progress? = nil
    ) throws -> HeadActivations {
        let config = model.config
        let start = Date()
        let tokens = samples.map { model.tokenizer.encodePrompt($0.text) }
        if let empty = tokens.firstIndex(where: \.isEmpty) {
            throw ModelError.emptySequence(index: empty)
        }
        let width = config.attentionWidth
        var values = [Float](repeating: 0, count: config.layerCount * samples.count * width)
        var tokenCount = 0
        try values.withUnsafeMutableBufferPointer { buffer in
            let capture = LastTokenCapture(
                layers: config.layerCount, sampleCount: samples.count, width: width,
                destination: buffer.baseAddress!)
            var next = 0
            while next < samples.count {
                var end = next, batchTokens = 0
                while end < samples.count && (end == next || batchTokens + tokens[end].count <= tokensPerBatch) {
                    batchTokens += tokens[end].count
                    end += 1
                }
                capture.sampleOffset = next
                _ = try model.model.forward(Array(tokens[next..<end]), hooks: [capture], logits: .none)
                tokenCount += batchTokens
                next = end
                progress?(next, samples.count, tokenCount)
            }
        }
        let header = HeadActivationHeader(
            modelFile: modelFile, modelSHA256: modelSHA256, promptFormat: format,
            bos: model.tokenizer.addsBOS, layerCount: config.layerCount, headCount: config.headCount,
            headWidth: config.headWidth, sampleCount: samples.count,
            samplesSHA256: ProbeSample.digest(samples), questionIDs: samples.map(\.questionID),
            labels: samples.map(\.label), tokenCount: tokenCount,
            seconds: Date().timeIntervalSince(start))
        return HeadActivations(header: header, values: values)
    }

    /// The cached activations for these samples when present, else collects and caches them.
    public func cachedOrCollect(
        _ samples: [ProbeSample], format: ProbePromptFormat, modelFile: String,
        modelSHA256: String, cacheDirectory: URL, progress: Progress? = nil
    ) throws -> (activations: HeadActivations, fromCache: Bool) {
        let key = HeadActivationHeader.key(
            modelSHA256: modelSHA256, promptFormat: format,
            samplesSHA256: ProbeSample.digest(samples), bos: model.tokenizer.addsBOS)
        if let cached = try HeadActivations.load(directory: cacheDirectory, key: key) {
            return (cached, true)
        }
        let collected = try collect(
            samples, format: format, modelFile: modelFile, modelSHA256: modelSHA256,
            progress: progress)
        try collected.write(directory: cacheDirectory)
        return (collected, false)
    }
}

/// Copies the last row of each sequence at every `.headOutput` site into a (L, S, H·D) array.
final class LastTokenCapture: ActivationHook {
    let sites: Set<ActivationSite>
    let sampleCount: Int
    let width: Int
    let destination: UnsafeMutablePointer<Float>
    /// Index of the batch's first sequence among all samples.
    var sampleOffset = 0

    init(layers: Int, sampleCount: Int, width: Int, destination: UnsafeMutablePointer<Float>) {
        sites = Set((0..<layers).map { ActivationSite.headOutput(layer: $0) })
        self.sampleCount = sampleCount
        self.width = width
        self.destination = destination
    }

    func visit(_ batch: ActivationBatch) {
        let l = batch.site.layer
        for (s, span) in batch.sequences.enumerated() {
            let row = span.rowStart + span.rowCount - 1
            (destination + (l * sampleCount + sampleOffset + s) * width).update(
                from: batch.values + row * batch.width, count: width)
        }
    }
}
