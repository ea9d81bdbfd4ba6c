import Foundation
import LocusInterventions
import LocusModel
import LocusTensor
import XCTest

/// The real SmolLM2-135M-Instruct checkpoint against PyTorch/transformers fixtures
/// (`scripts/reference/make_model_fixtures.py`, fp32, one thread).
///
/// Tolerance: logits within 2e-3 absolute. The fixture measures how far PyTorch's own fp32
/// result is from an fp64 run of the same weights: at most 9.3e-5 over all positions and the
/// whole vocabulary. Locus sums in a different order (OpenBLAS instead of MKL/oneDNN), so it
/// is expected to be about that far from PyTorch as well; 2e-3 is ~20× that spread and still
/// ~100× smaller than the gaps between top logits that decide any argmax checked here.
final class SmolLM2ParityTests: XCTestCase {
    let logitTolerance: Float = 2e-3

    func testLogitsMatchReferenceOnEveryPrompt() throws {
        let lm = try TestSupport.smolLM()
        let reference = try TestSupport.json("smollm2_reference.json")
        let sampledIDs = reference.list("sampled_ids").ints
        for case let prompt as [String: Any] in reference.list("prompts") {
            let name = prompt.string("name")
            let ids = prompt.list("ids").ints
            let logits = try lm.model.forward([ids], logits: .all)
            let last = logits.last(sequence: 0)
            for case let pair as [Any] in prompt.list("top") {
                let (id, value) = (pair.ints[0], pair.floats[1])
                XCTAssertEqual(last[id], value, accuracy: logitTolerance, "\(name) top id \(id)")
            }
            let sampled = prompt.list("sampled").floats
            XCTAssertLessThan(
                maxAbsDifference(sampledIDs.map { last[$0] }, sampled), logitTolerance, name)
            XCTAssertEqual(
                LogSoftmax.logSumExp(last.baseAddress!, count: last.count),
                prompt.float("logsumexp"), accuracy: logitTolerance, name)
            let positions = prompt.dict("per_position")
            let argmaxes = positions.list("argmax").ints, maxima = positions.list("max").floats
            for p in 0..<ids.count {
                let row = logits.row(sequence: 0, position: p)
                XCTAssertEqual(LogSoftmax.argmax(row.baseAddress!, count: row.count), argmaxes[p])
                XCTAssertEqual(row.max()!, maxima[p], accuracy: logitTolerance, "\(name) pos \(p)")
            }
        }
    }

    func testPackedVariableLengthBatchMatchesSeparateRuns() throws {
        let lm = try TestSupport.smolLM()
        let reference = try TestSupport.json("smollm2_reference.json")
        let items = reference.list("batch").map { $0 as! [String: Any] }
        let logits = try lm.model.forward(items.map { $0.list("ids").ints }, logits: .last)
        for (s, item) in items.enumerated() {
            let row = logits.last(sequence: s)
            for case let pair as [Any] in item.list("top") {
                XCTAssertEqual(row[pair.ints[0]], pair.floats[1], accuracy: logitTolerance)
            }
            XCTAssertEqual(
                LogSoftmax.logSumExp(row.baseAddress!, count: row.count), item.float("logsumexp"),
                accuracy: logitTolerance)
        }
    }

    func testGreedyContinuationsMatchTransformersGenerate() throws {
        let lm = try TestSupport.smolLM()
        let reference = try TestSupport.json("smollm2_reference.json")
        for case let item as [String: Any] in reference.list("greedy") {
            let expected = item.list("greedy_ids").ints
            let produced = try lm.model.generateGreedy(
                prompt: item.list("ids").ints, maxTokens: expected.count, stopTokens: [])
            XCTAssertEqual(produced, expected, item.string("prompt"))
        }
    }

    func testEveryActivationSiteMatchesReference() throws {
        let lm = try TestSupport.smolLM()
        let activations = try TestSupport.json("smollm2_reference.json").dict("activations")
        let positions = activations.list("positions").ints
        let sites = activations.dict("sites")
        let recorder = ActivationRecorder(
            sites: Set(sites.keys.map { ActivationSite(name: $0)! }), positions: .indices(positions))
        _ = try lm.model.forward([activations.list("ids").ints], hooks: [recorder], logits: .none)
        XCTAssertEqual(sites.count, 21)
        for (name, value) in sites {
            let site = ActivationSite(name: name)!
            for (k, p) in positions.enumerated() {
                let expected = ((value as! [Any])[k] as! [Any]).floats
                let got = try XCTUnwrap(recorder.vector(at: site, position: p), name)
                XCTAssertEqual(got.count, expected.count, name)
                // Relative to the vector's scale: the residual stream grows to |x| ~ 10².
                let scale = max(1, expected.map(abs).max()!)
                XCTAssertLessThan(maxAbsDifference(got, expected) / scale, 1e-4, "\(name) pos \(p)")
            }
        }
    }

    func testRecordingEverySiteLeavesLogitsBitIdentical() throws {
        let lm = try TestSupport.smolLM()
        let ids = lm.tokenizer.encode("Q: What happens if you swallow gum?\nA:")
        let plain = Array(try lm.model.forward([ids], logits: .all).row(sequence: 0, position: 3))
        let kinds: [ActivationSite] = [
            .residualPre(layer: 0), .residualMid(layer: 0), .residualPost(layer: 0),
            .attentionOut(layer: 0), .headOutput(layer: 0), .mlpHidden(layer: 0), .mlpOut(layer: 0),
        ]
        let all = Set((0..<lm.config.layerCount).flatMap { l in kinds.map { $0.at(layer: l) } })
        let recorder = ActivationRecorder(sites: all)
        let logits = try lm.model.forward([ids], hooks: [recorder], logits: .all)
        XCTAssertEqual(Array(logits.row(sequence: 0, position: 3)), plain)
        XCTAssertEqual(recorder.recorded.count, 7 * lm.config.layerCount)
    }

    func testHeadOutputAdditionMatchesReferenceIntervention() throws {
        let lm = try TestSupport.smolLM()
        let item = try TestSupport.json("smollm2_reference.json").dict("intervention")
        let columns = item.list("columns").ints
        let edit = VectorAddition(
            site: ActivationSite(name: item.string("site"))!, columnStart: columns[0],
            vector: item.list("vector").floats, positions: .all)
        let logits = try lm.model.forward([item.list("ids").ints], hooks: [edit], logits: .last)
        let row = logits.last(sequence: 0)
        for case let pair as [Any] in item.list("top") {
            XCTAssertEqual(row[pair.ints[0]], pair.floats[1], accuracy: logitTolerance)
        }
        XCTAssertEqual(
            LogSoftmax.logSumExp(row.baseAddress!, count: row.count), item.float("logsumexp"),
            accuracy: logitTolerance)
    }

    func testContinuationScoresMatchReference() throws {
        let lm = try TestSupport.smolLM()
        let item = try TestSupport.json("smollm2_reference.json").dict("continuations")
        let entries = item.list("items").map { $0 as! [String: Any] }
        let scores = try lm.model.scoreContinuations(
            prompt: item.list("prompt_ids").ints,
            continuations: entries.map { $0.list("continuation_ids").ints })
        for (score, entry) in zip(scores, entries) {
            XCTAssertEqual(Float(score.total), entry.float("sum_logprob"), accuracy: logitTolerance)
            XCTAssertLessThan(
                maxAbsDifference(score.tokens, entry.list("token_logprobs").floats), logitTolerance)
        }
    }

    func testIncrementalDecodingWithCacheMatchesFullForward() throws {
        let lm = try TestSupport.smolLM()
        let ids = lm.tokenizer.encode("The history of the city begins in the Roman era, when")
        let full = try lm.model.forward([ids], logits: .all)
        let fullRows = (0..<ids.count).map { Array(full.row(sequence: 0, position: $0)) }
        let cache = KVCache(config: lm.config, sequences: 1, capacity: ids.count)
        _ = try lm.model.forward([Array(ids.prefix(5))], cache: cache, logits: .none)
        for p in 5..<ids.count {
            let step = try lm.model.forward([[ids[p]]], cache: cache, logits: .last)
            XCTAssertLessThan(maxAbsDifference(step.last(sequence: 0), fullRows[p]), 1e-3)
        }
        XCTAssertEqual(cache.lengths, [ids.count])
    }

    func testBadInputIsAClearError() throws {
        let lm = try TestSupport.smolLM()
        XCTAssertThrowsError(try lm.model.forward([[1, 49_152]])) {
            XCTAssertEqual($0 as? ModelError, .tokenOutOfRange(token: 49_152, vocabularySize: 49_152))
        }
        XCTAssertThrowsError(try lm.model.forward([])) {
            XCTAssertEqual($0 as? ModelError, .emptyBatch)
        }
        let tooLong = Array(repeating: 1, count: lm.config.contextLength + 1)
        XCTAssertThrowsError(try lm.model.forward([tooLong])) {
            XCTAssertEqual(
                $0 as? ModelError,
                .contextExceeded(tokens: tooLong.count, contextLength: lm.config.contextLength))
            XCTAssertTrue("\($0)".contains("context"))
        }
    }
}
