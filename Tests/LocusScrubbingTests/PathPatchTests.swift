import LocusCore
import LocusInterventions
import LocusModel
import LocusScrubbing
import XCTest

final class PathPatchTests: XCTestCase {
    let sender = AttentionHead(layer: 0, head: 1)

    func everyInput(of layer: Int, config: ModelConfig) -> [PathReceiver] {
        (0..<config.headCount).flatMap { h in
            HeadInput.allCases.map { PathReceiver(head: AttentionHead(layer: layer, head: h), input: $0) }
        }
    }

    /// Δ from the same input is zero: recomputing every q, k, v of layer 1 leaves the logits.
    func testSameInputLeavesLogitsUnchanged() throws {
        let model = try TestSupport.tiny()
        let x = TestSupport.tokens(count: 1, length: 9, seed: 11)[0]
        let clean = try model.forward([x], logits: .all)
        let expected = (0..<9).map { Array(clean.row(sequence: 0, position: $0)) }
        let patch = PathPatch(
            model: model, sender: sender, receivers: everyInput(of: 1, config: model.config), sources: [0])
        let patched = try model.forward([x], hooks: [patch], logits: .all)
        for p in 0..<9 {
            let row = patched.row(sequence: 0, position: p)
            for v in 0..<model.config.vocabularySize { XCTAssertEqual(row[v], expected[p][v], accuracy: 1e-4) }
        }
    }

    /// B's query/value computed by hand from x_B + W_o,A (z_A′ − z_A); other columns untouched,
    /// the residual stream itself untouched (only the path into B changes), the source unchanged.
    func testHandComputedQueryAndValue() throws {
        let model = try TestSupport.tiny()
        let config = model.config
        let c = config.hiddenSize, d = config.headWidth, hd = config.attentionWidth
        let kvw = config.keyValueWidth
        let inputs = TestSupport.tokens(count: 1, length: 6, seed: 12) + TestSupport.tokens(count: 1, length: 6, seed: 13)
        let sites: Set<ActivationSite> = [
            .headOutput(layer: 0), .residualPre(layer: 1), .queries(layer: 1), .values(layer: 1),
            .residualMid(layer: 1),
        ]
        let clean = ActivationRecorder(sites: sites)
        _ = try model.forward(inputs, hooks: [clean], logits: .none)
        let b = AttentionHead(layer: 1, head: 3)
        let g = PathPatch.keyValueHead(of: 3, config: config)
        XCTAssertEqual(g, 1)
        let patch = PathPatch(
            model: model, sender: sender,
            receivers: [PathReceiver(head: b, input: .query), PathReceiver(head: b, input: .value)],
            sources: [1, nil])
        let after = ActivationRecorder(sites: sites)
        _ = try model.forward(inputs, hooks: [patch, after], logits: .none)

        let z = clean.recorded[.headOutput(layer: 0)]!
        let x = clean.recorded[.residualPre(layer: 1)]![0]
        let w = model.weights.layers[1]
        let wo = model.weights.layers[0].output
        for p in 0..<6 {
            var y = (0..<c).map { o in
                x[p * c + o]
                    + (0..<d).map { i in
                        wo[o * hd + d + i] * (z[1][p * hd + d + i] - z[0][p * hd + d + i])
                    }.reduce(0, +)
            }
            let r = 1 / (y.map { $0 * $0 }.reduce(0, +) / Float(c) + config.rmsNormEpsilon).squareRoot()
            y = (0..<c).map { w.attentionNorm[$0] * (y[$0] * r) }
            let q = after.recorded[.queries(layer: 1)]![0], q0 = clean.recorded[.queries(layer: 1)]![0]
            let v = after.recorded[.values(layer: 1)]![0], v0 = clean.recorded[.values(layer: 1)]![0]
            for col in 0..<hd {
                if col / d == 3 {
                    let expected = (0..<c).map { w.qkv[(col) * c + $0] * y[$0] }.reduce(0, +)
                    XCTAssertEqual(q[p * hd + col], expected, accuracy: 1e-4)
                } else {
                    XCTAssertEqual(q[p * hd + col], q0[p * hd + col])
                }
            }
            for col in 0..<kvw {
                if col / d == g {
                    let expected = (0..<c).map { w.qkv[(hd + kvw + col) * c + $0] * y[$0] }.reduce(0, +)
                    XCTAssertEqual(v[p * kvw + col], expected, accuracy: 1e-4)
                } else {
                    XCTAssertEqual(v[p * kvw + col], v0[p * kvw + col])
                }
            }
        }
        XCTAssertEqual(after.recorded[.residualPre(layer: 1)]!, clean.recorded[.residualPre(layer: 1)]!)
        XCTAssertNotEqual(after.recorded[.residualMid(layer: 1)]![0], clean.recorded[.residualMid(layer: 1)]![0])
        XCTAssertEqual(after.recorded[.residualMid(layer: 1)]![1], clean.recorded[.residualMid(layer: 1)]![1])
    }

    /// Where composition is linear, path patching into every downstream reader equals activation
    /// patching: with MLP 0 frozen at its clean output, patching z_A makes layer 1's input
    /// x + Δ, so layer 1's attention output must equal that of path patching A into every q, k
    /// and v of layer 1.
    func testAllReceiversEqualActivationPatchingWhenLinear() throws {
        let model = try TestSupport.tiny()
        let config = model.config
        let hd = config.attentionWidth, d = config.headWidth
        let inputs = TestSupport.tokens(count: 1, length: 7, seed: 14) + TestSupport.tokens(count: 1, length: 5, seed: 15)
        let z = ActivationSite.headOutput(layer: 0), mlp = ActivationSite.mlpOut(layer: 0)
        let out = ActivationSite.attentionOut(layer: 1)
        let clean = ActivationRecorder(sites: [z, mlp])
        _ = try model.forward(inputs, hooks: [clean], logits: .none)
        var rows = clean.recorded[z]![0]
        let src = clean.recorded[z]![1]
        for p in 0..<7 {
            let q = min(p, 4)  // start alignment
            for i in 0..<d { rows[p * hd + d + i] = src[q * hd + d + i] }
        }
        let ordinary = ActivationRecorder(sites: [out])
        _ = try model.forward(
            [inputs[0]],
            hooks: [
                ActivationReplacement(site: z, positions: .all, replacement: [rows]),
                ActivationReplacement(site: mlp, positions: .all, replacement: [clean.recorded[mlp]![0]]),
                ordinary,
            ], logits: .none)
        let path = ActivationRecorder(sites: [out])
        let patch = PathPatch(
            model: model, sender: sender, receivers: everyInput(of: 1, config: config), sources: [1, nil])
        _ = try model.forward(inputs, hooks: [patch, path], logits: .none)
        let a = ordinary.recorded[out]![0], b = path.recorded[out]![0]
        XCTAssertEqual(a.count, b.count)
        let gap = zip(a, b).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(gap, 1e-4)
        XCTAssertGreaterThan(a.map { abs($0) }.max()!, 1e-3)
    }
}
