import Foundation
import LocusTensor
import XCTest

/// Fast kernels against their naive twins, and backward passes against central finite
/// differences, on tiny random shapes.
final class KernelParityTests: XCTestCase {
    var rng = SeededGenerator(seed: 7)

    func random(_ n: Int, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in (Float(rng.nextUnit()) * 2 - 1) * scale }
    }

    func testLinearMatchesNaive() {
        for (rows, input, output) in [(1, 7, 5), (3, 16, 9), (17, 33, 12)] {
            let x = random(rows * input), w = random(output * input)
            var y = [Float](repeating: 0, count: rows * output)
            BLAS.linear(x, rows: rows, inputWidth: input, weight: w, outputWidth: output, into: &y)
            let expected = NaiveBLAS.linear(x, rows: rows, inputWidth: input, weight: w, outputWidth: output)
            for i in 0..<y.count { XCTAssertEqual(y[i], expected[i], accuracy: 1e-5) }
        }
    }

    func testAttentionMatchesNaiveWithCacheAndGroups() {
        let shape = AttentionShape(queryHeads: 4, keyValueHeads: 2, headWidth: 6)
        for (past, tokens) in [(0, 5), (3, 1), (2, 4)] {
            let hd = shape.queryHeads * shape.headWidth, kvw = shape.keyValueHeads * shape.headWidth
            let q = random(tokens * hd), k = random((past + tokens) * kvw), v = random((past + tokens) * kvw)
            var z = [Float](repeating: 0, count: tokens * hd)
            var probs = [Float](repeating: 0, count: shape.queryHeads * tokens * (past + tokens))
            CausalAttention.forward(
                q: q, qStride: hd, keys: k, values: v, kvStride: kvw, past: past, tokens: tokens,
                shape: shape, z: &z, zStride: hd, probabilities: &probs)
            let expected = CausalAttention.naive(
                q: q, keys: k, values: v, past: past, tokens: tokens, shape: shape)
            for i in 0..<z.count { XCTAssertEqual(z[i], expected[i], accuracy: 1e-5) }
            // Each probability row sums to 1 over visible keys and is 0 beyond.
            for h in 0..<shape.queryHeads {
                for i in 0..<tokens {
                    let row = probs[((h * tokens + i) * (past + tokens))...].prefix(past + tokens)
                    XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
                    XCTAssertTrue(row.dropFirst(past + i + 1).allSatisfy { $0 == 0 })
                }
            }
        }
    }

    func testRoPEInverseUndoesRotationAndPreservesNorm() {
        let table = RoPETable(headWidth: 8, base: 10_000)
        table.reserve(positions: 20)
        var x = random(16)
        let original = x
        table.rotate(&x, heads: 2, position: 13)
        XCTAssertNotEqual(x, original)
        let norm = { (v: [Float]) in v.map { $0 * $0 }.reduce(0, +) }
        XCTAssertEqual(norm(x), norm(original), accuracy: 1e-4)
        table.rotate(&x, heads: 2, position: 13, inverse: true)
        for i in 0..<16 { XCTAssertEqual(x[i], original[i], accuracy: 1e-6) }
    }

    func testRoPEMatchesClosedForm() {
        let table = RoPETable(headWidth: 4, base: 100)
        table.reserve(positions: 4)
        var x: [Float] = [1, 0, 0, 1]
        table.rotate(&x, heads: 1, position: 3)
        // pair 0: θ = 3, pair 1: θ = 3 · 100^(−1/2) = 0.3
        XCTAssertEqual(x[0], Float(cos(3.0)), accuracy: 1e-6)
        XCTAssertEqual(x[1], Float(sin(3.0)), accuracy: 1e-6)
        XCTAssertEqual(x[2], Float(-sin(0.3)), accuracy: 1e-6)
        XCTAssertEqual(x[3], Float(cos(0.3)), accuracy: 1e-6)
    }

    func testRMSNormBackwardMatchesFiniteDifferences() {
        let rows = 3, width = 7
        let x = random(rows * width, scale: 2), w = random(width), dy = random(rows * width)
        func loss(_ x: [Float], _ w: [Float]) -> Double {
            var y = [Float](repeating: 0, count: rows * width)
            RMSNorm.forward(x, weight: w, rows: rows, width: width, epsilon: 1e-5, into: &y)
            return zip(y, dy).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        var inv = [Float](repeating: 0, count: rows)
        var y = [Float](repeating: 0, count: rows * width)
        RMSNorm.forward(x, weight: w, rows: rows, width: width, epsilon: 1e-5, into: &y, inverseRMS: &inv)
        var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: width)
        RMSNorm.backward(
            dy, x: x, weight: w, inverseRMS: inv, rows: rows, width: width, dx: &dx, dWeight: &dw)
        for i in 0..<x.count {
            var p = x, m = x
            p[i] += 1e-2; m[i] -= 1e-2
            XCTAssertEqual(Double(dx[i]), (loss(p, w) - loss(m, w)) / 2e-2, accuracy: 2e-3)
        }
        for i in 0..<width {
            var p = w, m = w
            p[i] += 1e-2; m[i] -= 1e-2
            XCTAssertEqual(Double(dw[i]), (loss(x, p) - loss(x, m)) / 2e-2, accuracy: 2e-3)
        }
    }

    func testSwiGLUBackwardMatchesFiniteDifferences() {
        let rows = 2, width = 5
        let gu = random(rows * 2 * width, scale: 3), dh = random(rows * width)
        func loss(_ gu: [Float]) -> Double {
            var h = [Float](repeating: 0, count: rows * width)
            SwiGLU.forward(gateUp: gu, rows: rows, width: width, into: &h)
            return zip(h, dh).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        var grad = [Float](repeating: 0, count: gu.count)
        SwiGLU.backward(dh, gateUp: gu, rows: rows, width: width, dGateUp: &grad)
        for i in 0..<gu.count {
            var p = gu, m = gu
            p[i] += 1e-2; m[i] -= 1e-2
            XCTAssertEqual(Double(grad[i]), (loss(p) - loss(m)) / 2e-2, accuracy: 2e-3)
        }
    }

    func testAttentionBackwardMatchesFiniteDifferences() {
        let shape = AttentionShape(queryHeads: 4, keyValueHeads: 2, headWidth: 4)
        let t = 5, hd = 16, kvw = 8
        let q = random(t * hd), k = random(t * kvw), v = random(t * kvw), dz = random(t * hd)
        func loss(_ q: [Float], _ k: [Float], _ v: [Float]) -> Double {
            var z = [Float](repeating: 0, count: t * hd)
            var p = [Float](repeating: 0, count: 4 * t * t)
            CausalAttention.forward(
                q: q, qStride: hd, keys: k, values: v, kvStride: kvw, past: 0, tokens: t,
                shape: shape, z: &z, zStride: hd, probabilities: &p)
            return zip(z, dz).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        var z = [Float](repeating: 0, count: t * hd)
        var probs = [Float](repeating: 0, count: 4 * t * t)
        CausalAttention.forward(
            q: q, qStride: hd, keys: k, values: v, kvStride: kvw, past: 0, tokens: t,
            shape: shape, z: &z, zStride: hd, probabilities: &probs)
        var dq = [Float](repeating: 0, count: q.count), dk = [Float](repeating: 0, count: k.count)
        var dv = [Float](repeating: 0, count: v.count), scratch = [Float](repeating: 0, count: t * t)
        CausalAttention.backward(
            dz: dz, zStride: hd, q: q, qStride: hd, keys: k, values: v, kvStride: kvw,
            probabilities: probs, tokens: t, shape: shape, dq: &dq, dqStride: hd, dk: &dk, dv: &dv,
            dkvStride: kvw, scratch: &scratch)
        let e: Float = 1e-2
        for i in 0..<q.count {
            var p = q, m = q
            p[i] += e; m[i] -= e
            XCTAssertEqual(Double(dq[i]), (loss(p, k, v) - loss(m, k, v)) / Double(2 * e), accuracy: 2e-3)
        }
        for i in 0..<k.count {
            var p = k, m = k
            p[i] += e; m[i] -= e
            XCTAssertEqual(Double(dk[i]), (loss(q, p, v) - loss(q, m, v)) / Double(2 * e), accuracy: 2e-3)
            p = v; m = v
            p[i] += e; m[i] -= e
            XCTAssertEqual(Double(dv[i]), (loss(q, k, p) - loss(q, k, m)) / Double(2 * e), accuracy: 2e-3)
        }
    }

    /// With P cached keys and values (constants: a prefix nothing trained acts on), dQ and the
    /// new tokens' dK, dV against central differences.
    func testAttentionBackwardAfterACachedPrefixMatchesFiniteDifferences() {
        let shape = AttentionShape(queryHeads: 4, keyValueHeads: 2, headWidth: 4)
        let past = 3, t = 4, hd = 16, kvw = 8, total = past + t
        let q = random(t * hd), pastK = random(past * kvw), pastV = random(past * kvw)
        let k = random(t * kvw), v = random(t * kvw), dz = random(t * hd)
        func loss(_ q: [Float], _ k: [Float], _ v: [Float]) -> Double {
            var z = [Float](repeating: 0, count: t * hd)
            var p = [Float](repeating: 0, count: 4 * t * total)
            CausalAttention.forward(
                q: q, qStride: hd, keys: pastK + k, values: pastV + v, kvStride: kvw, past: past, tokens: t,
                shape: shape, z: &z, zStride: hd, probabilities: &p)
            return zip(z, dz).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        var z = [Float](repeating: 0, count: t * hd)
        var probs = [Float](repeating: 0, count: 4 * t * total)
        let keys = pastK + k, values = pastV + v
        CausalAttention.forward(
            q: q, qStride: hd, keys: keys, values: values, kvStride: kvw, past: past, tokens: t,
            shape: shape, z: &z, zStride: hd, probabilities: &probs)
        var dq = [Float](repeating: 0, count: q.count), dk = [Float](repeating: 0, count: k.count)
        var dv = [Float](repeating: 0, count: v.count), scratch = [Float](repeating: 0, count: t * total)
        CausalAttention.backward(
            dz: dz, zStride: hd, q: q, qStride: hd, keys: keys, values: values, kvStride: kvw,
            probabilities: probs, past: past, tokens: t, shape: shape, dq: &dq, dqStride: hd, dk: &dk,
            dv: &dv, dkvStride: kvw, scratch: &scratch)
        let e: Float = 1e-2
        for i in 0..<q.count {
            var p = q, m = q
            p[i] += e; m[i] -= e
            XCTAssertEqual(Double(dq[i]), (loss(p, k, v) - loss(m, k, v)) / Double(2 * e), accuracy: 2e-3)
        }
        for i in 0..<k.count {
            var p = k, m = k
            p[i] += e; m[i] -= e
            XCTAssertEqual(Double(dk[i]), (loss(q, p, v) - loss(q, m, v)) / Double(2 * e), accuracy: 2e-3)
            p = v; m = v
            p[i] += e; m[i] -= e
            XCTAssertEqual(Double(dv[i]), (loss(q, k, p) - loss(q, k, m)) / Double(2 * e), accuracy: 2e-3)
        }
    }

    func testLinearGradientsMatchNaive() {
        let rows = 3, input = 5, output = 4
        let x = random(rows * input), w = random(output * input), dy = random(rows * output)
        var dx = [Float](repeating: 0, count: rows * input), dw = [Float](repeating: 0, count: output * input)
        BLAS.linearInputGradient(dy, rows: rows, outputWidth: output, weight: w, inputWidth: input, into: &dx)
        BLAS.linearWeightGradient(dy, x: x, rows: rows, outputWidth: output, inputWidth: input, into: &dw)
        for r in 0..<rows {
            for i in 0..<input {
                let expected = (0..<output).reduce(Float(0)) { $0 + dy[r * output + $1] * w[$1 * input + i] }
                XCTAssertEqual(dx[r * input + i], expected, accuracy: 1e-5)
            }
        }
        for o in 0..<output {
            for i in 0..<input {
                let expected = (0..<rows).reduce(Float(0)) { $0 + dy[$1 * output + o] * x[$1 * input + i] }
                XCTAssertEqual(dw[o * input + i], expected, accuracy: 1e-5)
            }
        }
    }

    func testRoPEBackwardIsTheTransposedRotation() {
        // For a rotation R, ⟨R x, g⟩ = ⟨x, Rᵀ g⟩ with Rᵀ the inverse rotation.
        let table = RoPETable(headWidth: 6, base: 500)
        table.reserve(positions: 9)
        var rx = random(12)
        let x = rx
        var rg = random(12)
        let g = rg
        table.rotate(&rx, heads: 2, position: 8)
        table.rotate(&rg, heads: 2, position: 8, inverse: true)
        let lhs = zip(rx, g).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        let rhs = zip(x, rg).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        XCTAssertEqual(lhs, rhs, accuracy: 1e-5)
    }

    func testVectorExpMatchesFoundationExp() {
        var x = (0..<2001).map { Float($0 - 1000) * 0.0875 }  // −87.5 … 87.5
        x += random(37, scale: 5)
        var y = [Float](repeating: 0, count: x.count)
        VectorExp.apply(x, shift: 0.25, count: x.count, into: &y)
        for (xi, yi) in zip(x, y) where xi + 0.25 > -87 {
            // The kernel adds the shift in Float; the reference takes the same rounded argument
            // (a Double sum would differ by |x|·2⁻²⁴ relative, 4e-6 at x = 64, before any exp).
            let exact = Foundation.exp(Double(xi + Float(0.25)))
            XCTAssertEqual(Double(yi), exact, accuracy: 2e-7 * exact, "x = \(xi)")
        }
    }

    func testLogSumExpIsStableAndExact() {
        let row: [Float] = [1000, 1000, 999]
        let lse = LogSoftmax.logSumExp(row, count: 3)
        XCTAssertEqual(Double(lse), 1000 + log(2 + exp(-1.0)), accuracy: 1e-3)
        XCTAssertEqual(LogSoftmax.argmax([1, 3, 3, 2], count: 4), 1)
    }
}
