import LocusTensor

extension DecoderModel {
    /// Greedy decoding with a KV cache: the prompt is computed once, then one token per step.
    ///
    /// - Parameters:
    ///   - prompt: token ids of the prompt (non-empty).
    ///   - maxTokens: upper bound on new tokens; fewer when a stop token appears or the context
    ///     is full.
    ///   - stopTokens: ids that end generation (not included in the result); defaults to EOS.
    ///   - hooks: interventions active at every step (prompt and generated tokens).
    ///   - onToken: called with each new id as it is produced (for streaming).
    /// - Returns: the new token ids.
    public func generateGreedy(
        prompt: [Int], maxTokens: Int, stopTokens: Set<Int>? = nil,
        hooks: [ActivationHook] = [], onToken: ((Int) -> Void)? = nil
    ) throws -> [Int] {
        let stops = stopTokens ?? Set([config.eosTokenID].compactMap { $0 })
        guard prompt.count <= config.contextLength else {
            throw ModelError.contextExceeded(tokens: prompt.count, contextLength: config.contextLength)
        }
        let capacity = min(config.contextLength, prompt.count + maxTokens)
        let cache = KVCache(config: config, sequences: 1, capacity: capacity)
        var next = prompt
        var produced: [Int] = []
        while produced.count < maxTokens, cache.lengths[0] + next.count <= capacity {
            let logits = try forward([next], cache: cache, hooks: hooks, logits: .last)
            let row = logits.last(sequence: 0)
            let token = LogSoftmax.argmax(row.baseAddress!, count: row.count)
            if stops.contains(token) { break }
            produced.append(token)
            onToken?(token)
            next = [token]
        }
        return produced
    }

    /// Sum of log p(continuation token | everything before it), for each continuation of one
    /// prompt. The prompt is computed once; each continuation reads its keys and values (copied
    /// into a one-layer cache layer by layer, `KVCache.Storage.oneLayer`).
    ///
    ///     score(y | x) = Σ_t log p(y_t | x, y_<t)
    ///
    /// - Returns: one score per continuation, and the per-token log-probs.
    public func scoreContinuations(
        prompt: [Int], continuations: [[Int]], hooks: [ActivationHook] = []
    ) throws -> [(total: Double, tokens: [Float])] {
        guard !continuations.isEmpty else { return [] }
        let longest = continuations.map(\.count).max()!
        let promptCache = KVCache(config: config, sequences: 1, capacity: prompt.count)
        let promptLogits = try forward([prompt], cache: promptCache, hooks: hooks, logits: .last)
        let firstRow = promptLogits.last(sequence: 0)
        let firstLogSumExp = LogSoftmax.logSumExp(firstRow.baseAddress!, count: firstRow.count)
        let firstLogProbs = continuations.map { $0.first.map { firstRow[$0] - firstLogSumExp } }

        // Continuation tokens except the last are inputs; each predicts the next one.
        let inputs = continuations.map { Array($0.dropLast()) }
        var results = continuations.indices.map { i -> (total: Double, tokens: [Float]) in
            let lp = firstLogProbs[i].map { [$0] } ?? []
            return (lp.reduce(0) { $0 + Double($1) }, lp)
        }
        let active = inputs.indices.filter { !inputs[$0].isEmpty }
        guard !active.isEmpty else { return results }
        // The continuations' keys and values are needed only within this call: one layer's
        // rows, the prompt's copied in layer by layer.
        let cache = KVCache(
            config: config, sequences: active.count, capacity: prompt.count + longest, storage: .oneLayer)
        for (s, _) in active.enumerated() { cache.continue(promptCache, sequence: 0, at: s) }
        let logits = try forward(active.map { inputs[$0] }, cache: cache, hooks: hooks, logits: .all)
        for (s, i) in active.enumerated() {
            for (t, target) in continuations[i].dropFirst().enumerated() {
                let lp = logits.logProbability(of: target, sequence: s, position: prompt.count + t)
                results[i].tokens.append(lp)
                results[i].total += Double(lp)
            }
        }
        return results
    }
}
