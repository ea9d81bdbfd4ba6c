import LocusTensor
import XCTest

/// `CausalAttention.backward(pastGradient:)` (issue 14: a preference pair's prompt rows are run
/// once and both answers attend to them as cached rows, so the cached keys and values need
/// gradients too): ∂⟨Z, dZ⟩/∂K and ∂/∂V of the cached rows `from..<P` against central finite
/// differences (step 1e-2, tolerance 2e-3 absolute on gradients of order 1, as the kernel's other
/// finite-difference tests), with soft-cap, sliding window and grouped heads; rows below `from`
/// are untouched, and the new tokens' dQ, dK, dV are those of the call without it (bit for bit).
final class AttentionPastGradientTests: XCTestCase {
    var rng = SeededGenerator(seed: 14)

    func random(_ n: Int, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in (Float(rng.nextUnit()) * 2 - 1) * scale }
    }

    func testCachedRowsGradientMatchesFiniteDifferences() {
        for (cap, window, past, from) in [(Float?.none, 100, 4, 0), (Float(1.5), 4, 5, 2), (Float(2), 100, 3, 1)] {
            let shape = AttentionShape(
                queryHeads: 4, keyValueHeads: 2, headWidth: 4, scale: 0.6, softCap: cap, window: window)
            let t = 4, hd = 16, kvw = 8, total = past + t
            let pastK = random(past * kvw, scale: 2), pastV = random(past * kvw)
            let q = random(t * hd, scale: 2), k = random(t * kvw, scale: 2), v = random(t * kvw), dz = random(t * hd)
            func loss(_ pk: [Float], _ pv: [Float]) -> Double {
                var z = [Float](repeating: 0, count: t * hd)
                var p = [Float](repeating: 0, count: 4 * t * total)
                CausalAttention.forward(
                    q: q, qStride: hd, keys: pk + k, values: pv + v, kvStride: kvw, past: past,
                    tokens: t, shape: shape, z: &z, zStride: hd, probabilities: &p)
                return zip(z, dz).reduce(0) { $0 + Double($1.0) * Double($1.1) }
            }
            var z = [Float](repeating: 0, count: t * hd)
            var probs = [Float](repeating: 0, count: 4 * t * total)
            let keys = pastK + k, values = pastV + v
            CausalAttention.forward(
                q: q, qStride: hd, keys: keys, values: values, kvStride: kvw, past: past, tokens: t,
                shape: shape, z: &z, zStride: hd, probabilities: &probs)
            func backward(withPast: Bool) -> (dq: [Float], dk: [Float], dv: [Float], dpk: [Float], dpv: [Float]) {
                var dq = [Float](repeating: 0, count: q.count), dk = [Float](repeating: 0, count: k.count)
                var dv = [Float](repeating: 0, count: v.count)
                var dpk = [Float](repeating: 0, count: pastK.count), dpv = [Float](repeating: 0, count: pastV.count)
                var scratch = [Float](repeating: 0, count: 2 * t * total)
                dpk.withUnsafeMutableBufferPointer { pk in
                    dpv.withUnsafeMutableBufferPointer { pv in
                        CausalAttention.backward(
                            dz: dz, zStride: hd, q: q, qStride: hd, keys: keys, values: values, kvStride: kvw,
                            probabilities: probs, past: past, tokens: t, shape: shape, dq: &dq, dqStride: hd,
                            dk: &dk, dv: &dv, dkvStride: kvw, scratch: &scratch,
                            pastGradient: withPast
                                ? (from, pk.baseAddress! + from * kvw, pv.baseAddress! + from * kvw, kvw) : nil)
                    }
                }
                return (dq, dk, dv, dpk, dpv)
            }
            let with = backward(withPast: true), without = backward(withPast: false)
            XCTAssertEqual(with.dq, without.dq)
            XCTAssertEqual(with.dk, without.dk)
            XCTAssertEqual(with.dv, without.dv)
            XCTAssertTrue(with.dpk[..<(from * kvw)].allSatisfy { $0 == 0 }, "rows below `from` untouched")
            for i in (from * kvw)..<(past * kvw) {
                for (gradient, isKey) in [(with.dpk, true), (with.dpv, false)] {
                    var p = isKey ? pastK : pastV, m = p
                    p[i] += 1e-2
                    m[i] -= 1e-2
                    let numeric = isKey
                        ? (loss(p, pastV) - loss(m, pastV)) / 2e-2 : (loss(pastK, p) - loss(pastK, m)) / 2e-2
                    XCTAssertEqual(
                        Double(gradient[i]), numeric, accuracy: 2e-3,
                        "\(isKey ? "dK" : "dV") past row \(i / kvw) cap \(String(describing: cap)) W \(window)")
                }
            }
            XCTAssertGreaterThan(with.dpk.map(abs).max()!, 1e-3, "a gradient that can be wrong")
        }
    }
}
