import Foundation
import LocusCore
import LocusTensor

/// What a run has done so far: enough to write results or to resume after an interruption.
public struct SteeringState: Codable, Equatable, Sendable {
    public struct EpochRecord: Codable, Equatable, Sendable {
        public var epoch: Int
        public var steps: Int
        public var trainLoss: Double
        public var trainMargin: Double
        public var validation: PreferenceMetrics
        public var seconds: Double
    }

    public var configuration: SteeringConfiguration
    public var parameters: SteeringParameters
    public var optimizer: AdamW
    public var completedEpochs: Int
    public var globalStep: Int
    /// Validation metrics of the unsteered model (epoch 0 of the curve).
    public var initialValidation: PreferenceMetrics
    public var curve: [EpochRecord]
    /// π₀ log-probs, computed once.
    public var trainReference: [PairLogProbabilities]
    public var validationReference: [PairLogProbabilities]
}

/// Progress of one step, for a progress line.
public struct StepProgress: Sendable {
    public var epoch: Int
    public var step: Int
    public var stepsPerEpoch: Int
    public var totalSteps: Int
    public var globalStep: Int
    public var loss: Double
    public var margin: Double
    public var learningRate: Double
    public var secondsPerStep: Double
    public var etaSeconds: Double { secondsPerStep * Double(totalSteps - globalStep) }
}

extension SteeringTrainer {
    /// A fresh state: reference log-probs of both sets under the unsteered model.
    /// `progress(done, total)` counts pairs over the three passes (π₀ on train and validation,
    /// then the initial validation metrics).
    ///
    /// With `referenceCache`, π₀'s log-probs are read from it when an earlier run computed them
    /// for the same model, pairs and settings (and stored there otherwise). When the initial edit
    /// is the identity (`SteeringParameters.isIdentity`, every fresh edit), the initial
    /// validation metrics are those of π₀ against itself (h = 0 for every pair; accuracy the
    /// share of pairs π₀ already prefers) and are not recomputed.
    public func initialState(
        train: [TokenizedPair], validation: [TokenizedPair], referenceCache: SteeringReferenceCache? = nil,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> SteeringState {
        guard !train.isEmpty else { throw SteeringError.noPairs }
        guard !validation.isEmpty else { throw SteeringError.noValidationPairs }
        for (i, pair) in (train + validation).enumerated() {
            if pair.chosen.isEmpty || pair.rejected.isEmpty { throw SteeringError.emptyAnswer(pair: i) }
            if pair.prompt.isEmpty && !sharedPrefix.isEmpty { throw SteeringError.emptyPrompt(pair: i) }
        }
        let total = train.count + 2 * validation.count
        func reference(_ pairs: [TokenizedPair], offset: Int) throws -> [PairLogProbabilities] {
            let report: (Int, Int) -> Void = { done, _ in progress(offset + done, total) }
            if let referenceCache {
                return try referenceCache.referenceLogProbabilities(pairs, trainer: self, progress: report).logProbabilities
            }
            return try logProbabilities(pairs, steered: false, progress: report)
        }
        let trainReference = try reference(train, offset: 0)
        let validationReference = try reference(validation, offset: train.count)
        let initial: PreferenceMetrics
        if parameters.isIdentity {
            initial = Self.metrics(
                steered: validationReference, reference: validationReference, objective: configuration.objective)
            progress(total, total)
        } else {
            initial = try evaluate(validation, reference: validationReference) { done, _ in
                progress(train.count + validation.count + done, total)
            }
        }
        return SteeringState(
            configuration: configuration, parameters: parameters, optimizer: optimizer,
            completedEpochs: 0, globalStep: 0, initialValidation: initial, curve: [],
            trainReference: trainReference, validationReference: validationReference)
    }

    /// Runs the remaining epochs of `state`: seeded shuffles (seed + epoch), cosine schedule over
    /// all steps, validation after every epoch, `onEpoch` after every epoch (to checkpoint).
    /// On a non-finite value the error propagates and `parameters` holds the last good step.
    public func train(
        from state: SteeringState, train: [TokenizedPair], validation: [TokenizedPair],
        onStep: (StepProgress) -> Void = { _ in }, onValidation: (Int, Int) -> Void = { _, _ in },
        onEpoch: (SteeringState) throws -> Void = { _ in }
    ) throws -> SteeringState {
        var state = state
        parameters = state.parameters
        optimizer = state.optimizer
        // A resumed state passed validation at its last epoch: it is the last good one so far.
        lastFiniteParameters = state.completedEpochs > 0 ? state.parameters : nil
        let size = max(1, configuration.batchSize)
        let stepsPerEpoch = (train.count + size - 1) / size
        let schedule = CosineSchedule(
            baseRate: configuration.learningRate, totalSteps: stepsPerEpoch * configuration.epochs,
            warmupSteps: configuration.warmupSteps)
        for epoch in state.completedEpochs..<configuration.epochs {
            let started = Date()
            var g = SeededGenerator(seed: configuration.seed &+ UInt64(epoch) &+ 1)
            var order = Array(train.indices)
            for i in Swift.stride(from: order.count - 1, to: 0, by: -1) {
                order.swapAt(i, Int(g.next() % UInt64(i + 1)))
            }
            var lossSum = 0.0, marginSum = 0.0
            for s in 0..<stepsPerEpoch {
                let indices = Array(order[(s * size)..<min((s + 1) * size, order.count)])
                let rate = schedule.rate(at: state.globalStep)
                let result = try step(
                    indices.map { train[$0] }, reference: indices.map { state.trainReference[$0] },
                    learningRate: rate, stepIndex: state.globalStep)
                state.globalStep += 1
                state.parameters = parameters
                state.optimizer = optimizer
                lossSum += result.loss
                marginSum += result.margin
                onStep(
                    StepProgress(
                        epoch: epoch, step: s + 1, stepsPerEpoch: stepsPerEpoch,
                        totalSteps: stepsPerEpoch * configuration.epochs,
                        globalStep: state.globalStep, loss: result.loss, margin: result.margin,
                        learningRate: rate,
                        secondsPerStep: Date().timeIntervalSince(started) / Double(s + 1)))
            }
            guard !validation.isEmpty else { throw SteeringError.noValidationPairs }
            let validationMetrics = try evaluate(validation, reference: state.validationReference, progress: onValidation)
            guard validationMetrics.loss.isFinite, validationMetrics.margin.isFinite else {
                // The last update made the forward pass overflow: keep the parameters before it.
                throw SteeringError.nonFinite(step: state.globalStep, what: "the validation loss")
            }
            lastFiniteParameters = parameters
            state.curve.append(
                SteeringState.EpochRecord(
                    epoch: epoch + 1, steps: stepsPerEpoch, trainLoss: lossSum / Double(stepsPerEpoch),
                    trainMargin: marginSum / Double(stepsPerEpoch), validation: validationMetrics,
                    seconds: Date().timeIntervalSince(started)))
            state.completedEpochs = epoch + 1
            try onEpoch(state)
        }
        return state
    }
}
