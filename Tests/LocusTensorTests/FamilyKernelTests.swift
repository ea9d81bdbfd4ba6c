import Foundation
import LocusTensor
import XCTest

/// The kernels the GPT-2, GPT-J, Qwen2 and Gemma-3 blocks add (issue 12): each forward against a
/// naive twin in `Double`, each backward against central finite differences of its forward.
final class FamilyKernelTests: XCTestCase {
    var rng = SeededGenerator(seed: 12)

    func random(_ n: Int, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in (Float(rng.nextUnit()) * 2 - 1) * scale }
    }

    /// ⟨f(x), dy⟩ in `Double`: the scalar whose gradient a backward pass returns.
    func pairing(_ y: [Float], _ dy: [Float]) -> Double {
        zip(y, dy).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }

    /// Central differences of `loss` at every entry of `x`, against `gradient`.
    func assertGradient(
        _ gradient: [Float], of loss: ([Float]) -> Double, at x: [Float], step: Float = 1e-2,
        accuracy: Double = 2e-3, _ label: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(gradient.count, x.count, label, file: file, line: line)
        for i in 0..<x.count {
            var p = x, m = x
            p[i] += step
            m[i] -= step
            let numeric = (loss(p) - loss(m)) / Double(2 * step)
            XCTAssertEqual(Double(gradient[i]), numeric, accuracy: accuracy, "\(label)[\(i)]", file: file, line: line)
        }
    }

    // MARK: LayerNorm

    func testLayerNormMatchesNaive() {
        for (rows, width, withBias) in [(1, 7, true), (3, 16, false), (4, 67, true), (2, 768, true)] {
            // Rows off-centre (mean ~5) so a one-pass variance would lose digits.
            let x = random(rows * width, scale: 3).map { $0 + 5 }
            let w = random(width), b = withBias ? random(width) : nil
            var y = [Float](repeating: 0, count: x.count)
            var mean = [Float](repeating: 0, count: rows), inv = [Float](repeating: 0, count: rows)
            LayerNorm.forward(
                x, weight: w, bias: b, rows: rows, width: width, epsilon: 1e-5, into: &y,
                mean: &mean, inverseStd: &inv)
            let expected = LayerNorm.naive(x, weight: w, bias: b, rows: rows, width: width, epsilon: 1e-5)
            for i in 0..<y.count { XCTAssertEqual(y[i], expected[i], accuracy: 3e-6, "width \(width) [\(i)]") }
            for r in 0..<rows {
                let m = (0..<width).reduce(0.0) { $0 + Double(x[r * width + $1]) } / Double(width)
                XCTAssertEqual(Double(mean[r]), m, accuracy: 1e-5)
            }
        }
    }

    func testLayerNormInPlace() {
        let rows = 2, width = 19
        var x = random(rows * width, scale: 2)
        let w = random(width), b = random(width)
        let expected = LayerNorm.naive(x, weight: w, bias: b, rows: rows, width: width, epsilon: 1e-5)
        x.withUnsafeMutableBufferPointer { p in
            LayerNorm.forward(
                p.baseAddress!, weight: w, bias: b, rows: rows, width: width, epsilon: 1e-5,
                into: p.baseAddress!)
        }
        for i in 0..<x.count { XCTAssertEqual(x[i], expected[i], accuracy: 3e-6) }
    }

    func testLayerNormBackwardMatchesFiniteDifferences() {
        for width in [7, 20] {
            let rows = 3
            let x = random(rows * width, scale: 2), w = random(width), b = random(width)
            let dy = random(rows * width)
            func loss(_ x: [Float], _ w: [Float], _ b: [Float]) -> Double {
                var y = [Float](repeating: 0, count: rows * width)
                LayerNorm.forward(x, weight: w, bias: b, rows: rows, width: width, epsilon: 1e-5, into: &y)
                return pairing(y, dy)
            }
            var y = [Float](repeating: 0, count: x.count)
            var mean = [Float](repeating: 0, count: rows), inv = [Float](repeating: 0, count: rows)
            LayerNorm.forward(
                x, weight: w, bias: b, rows: rows, width: width, epsilon: 1e-5, into: &y,
                mean: &mean, inverseStd: &inv)
            // Accumulation: start from ones, subtract them after.
            var dx = [Float](repeating: 1, count: x.count)
            var dw = [Float](repeating: 1, count: width), db = [Float](repeating: 1, count: width)
            LayerNorm.backward(
                dy, x: x, weight: w, mean: mean, inverseStd: inv, rows: rows, width: width,
                dx: &dx, dWeight: &dw, dBias: &db)
            assertGradient(dx.map { $0 - 1 }, of: { loss($0, w, b) }, at: x, "dx")
            assertGradient(dw.map { $0 - 1 }, of: { loss(x, $0, b) }, at: w, "dweight")
            assertGradient(db.map { $0 - 1 }, of: { loss(x, w, $0) }, at: b, "dbias")
        }
    }

    // MARK: GELU, GeGLU

    func testGELUMatchesNaive() {
        var x = (0..<1601).map { Float($0 - 800) * 0.01 }  // −8 … 8
        x += random(37, scale: 20)
        for approximation in GELU.Approximation.allCases {
            var y = [Float](repeating: 0, count: x.count)
            GELU.forward(x, count: x.count, approximation: approximation, into: &y)
            for (xi, yi) in zip(x, y) {
                let exact = GELU.naive(Double(xi), approximation: approximation)
                // erf (A&S 7.1.26) to 1.5e-7 absolute, e^ to 2e-7 relative.
                XCTAssertEqual(Double(yi), exact, accuracy: 2e-7 * max(1, abs(Double(xi))) + 1e-6 * abs(exact),
                               "\(approximation) x = \(xi)")
            }
        }
    }

    func testGELUThreadedEqualsSingleThreaded() {
        let x = random(50_001, scale: 4)
        var one = [Float](repeating: 0, count: x.count), two = one
        GELU.forward(x, count: x.count, approximation: .tanh, into: &one)
        GELU.forward(x, count: x.count, approximation: .tanh, into: &two, threads: 2)
        XCTAssertEqual(one, two)
    }

    func testGELUBackwardMatchesFiniteDifferences() {
        let x = random(29, scale: 4), dy = random(29)
        for approximation in GELU.Approximation.allCases {
            func loss(_ x: [Float]) -> Double {
                var y = [Float](repeating: 0, count: x.count)
                GELU.forward(x, count: x.count, approximation: approximation, into: &y)
                return pairing(y, dy)
            }
            var dx = [Float](repeating: 0, count: x.count)
            GELU.backward(dy, x: x, count: x.count, approximation: approximation, dx: &dx)
            assertGradient(dx, of: loss, at: x, step: 1e-3, accuracy: 1e-3, "\(approximation)")
        }
    }

    func testGeGLUMatchesNaive() {
        let rows = 3, width = 13
        let gu = random(rows * 2 * width, scale: 3)
        for approximation in GELU.Approximation.allCases {
            var h = [Float](repeating: 0, count: rows * width)
            GeGLU.forward(gateUp: gu, rows: rows, width: width, into: &h, approximation: approximation, threads: 2)
            for r in 0..<rows {
                for i in 0..<width {
                    let g = Double(gu[r * 2 * width + i]), u = Double(gu[r * 2 * width + width + i])
                    let expected = GELU.naive(g, approximation: approximation) * u
                    XCTAssertEqual(Double(h[r * width + i]), expected, accuracy: 2e-6)
                }
            }
        }
    }

    func testGeGLUBackwardMatchesFiniteDifferences() {
        let rows = 2, width = 11
        let gu = random(rows * 2 * width, scale: 3), dh = random(rows * width)
        for approximation in GELU.Approximation.allCases {
            func loss(_ gu: [Float]) -> Double {
                var h = [Float](repeating: 0, count: rows * width)
                GeGLU.forward(gateUp: gu, rows: rows, width: width, into: &h, approximation: approximation)
                return pairing(h, dh)
            }
            var grad = [Float](repeating: 0, count: gu.count)
            GeGLU.backward(dh, gateUp: gu, rows: rows, width: width, dGateUp: &grad, approximation: approximation)
            assertGradient(grad, of: loss, at: gu, step: 1e-3, accuracy: 2e-3, "\(approximation)")
        }
    }

    // MARK: RMSNorm with Gemma's offset

    func testRMSNormOffsetMatchesNaive() {
        let rows = 3, width = 21
        let x = random(rows * width, scale: 2), w = random(width)
        var y = [Float](repeating: 0, count: x.count), plain = y, shifted = y
        RMSNorm.forward(x, weight: w, rows: rows, width: width, epsilon: 1e-6, into: &y, offset: 1)
        RMSNorm.forward(x, weight: w.map { $0 + 1 }, rows: rows, width: width, epsilon: 1e-6, into: &shifted)
        RMSNorm.forward(x, weight: w, rows: rows, width: width, epsilon: 1e-6, into: &plain)
        for r in 0..<rows {
            let ms = (0..<width).reduce(0.0) { $0 + pow(Double(x[r * width + $1]), 2) } / Double(width)
            let inv = 1 / (ms + 1e-6).squareRoot()
            for i in 0..<width {
                let xi = Double(x[r * width + i])
                XCTAssertEqual(Double(y[r * width + i]), xi * inv * (1 + Double(w[i])), accuracy: 2e-6)
                XCTAssertEqual(Double(plain[r * width + i]), xi * inv * Double(w[i]), accuracy: 2e-6)
            }
        }
        XCTAssertNotEqual(y, plain)
        for i in 0..<y.count { XCTAssertEqual(y[i], shifted[i], accuracy: 1e-6) }
    }

    func testRMSNormOffsetBackwardMatchesFiniteDifferences() {
        let rows = 3, width = 9
        let x = random(rows * width, scale: 2), w = random(width, scale: 0.3), dy = random(rows * width)
        func loss(_ x: [Float], _ w: [Float]) -> Double {
            var y = [Float](repeating: 0, count: rows * width)
            RMSNorm.forward(x, weight: w, rows: rows, width: width, epsilon: 1e-6, into: &y, offset: 1)
            return pairing(y, dy)
        }
        var inv = [Float](repeating: 0, count: rows), y = [Float](repeating: 0, count: x.count)
        RMSNorm.forward(x, weight: w, rows: rows, width: width, epsilon: 1e-6, into: &y, inverseRMS: &inv, offset: 1)
        var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: width)
        RMSNorm.backward(
            dy, x: x, weight: w, inverseRMS: inv, rows: rows, width: width, dx: &dx, dWeight: &dw, offset: 1)
        assertGradient(dx, of: { loss($0, w) }, at: x, "dx")
        assertGradient(dw, of: { loss(x, $0) }, at: w, "dweight")
    }

    // MARK: SoftCap and tanh

    func testVectorTanhMatchesFoundation() {
        var x = (0..<2001).map { Float($0 - 1000) * 0.01 }  // −10 … 10, through the 0.625 switch
        x += [1e-6, -1e-6, 1e-20, 0.6249999, 0.625, -0.625, 40, -40, 100, -100]
        var y = [Float](repeating: 0, count: x.count)
        VectorTanh.apply(x, count: x.count, into: &y)
        for (xi, yi) in zip(x, y) {
            let exact = Foundation.tanh(Double(xi))
            XCTAssertEqual(Double(yi), exact, accuracy: 5e-7 * abs(exact) + 1e-30, "x = \(xi)")
        }
    }

    func testSoftCapMatchesNaive() {
        let cap: Float = 30
        var x = random(301, scale: 200)
        x += [0, 1e-4, -1e-4, 1e4, -1e4]
        var y = x
        SoftCap.forward(y, cap: cap, count: y.count, into: &y)  // in place
        for (xi, yi) in zip(x, y) {
            let exact = 30 * Foundation.tanh(Double(xi) / 30)
            XCTAssertEqual(Double(yi), exact, accuracy: 5e-7 * abs(exact) + 1e-12, "x = \(xi)")
            XCTAssertLessThanOrEqual(abs(yi), cap)
        }
    }

    func testSoftCapBackwardMatchesFiniteDifferences() {
        let cap: Float = 5
        let x = random(23, scale: 12), dy = random(23)
        func loss(_ x: [Float]) -> Double {
            var y = [Float](repeating: 0, count: x.count)
            SoftCap.forward(x, cap: cap, count: x.count, into: &y)
            return pairing(y, dy)
        }
        var y = [Float](repeating: 0, count: x.count)
        SoftCap.forward(x, cap: cap, count: x.count, into: &y)
        var dx = dy
        SoftCap.backward(dx, output: y, cap: cap, count: x.count, into: &dx)  // in place
        assertGradient(dx, of: loss, at: x, step: 1e-3, accuracy: 1e-3, "dx")
    }

    // MARK: Partial rotary

    /// The rotation written out: adjacent pairs of the first R dims, θ_i = (p/s)·base^(−2i/R).
    func naiveRoPE(_ x: [Float], heads: Int, width: Int, rotary: Int, base: Double, position: Int,
                   scaling: Double = 1) -> [Float] {
        var y = x
        for h in 0..<heads {
            for i in 0..<rotary / 2 {
                let theta = Double(position) / scaling * pow(base, -Double(2 * i) / Double(rotary))
                let a = Double(x[h * width + 2 * i]), b = Double(x[h * width + 2 * i + 1])
                y[h * width + 2 * i] = Float(a * cos(theta) - b * sin(theta))
                y[h * width + 2 * i + 1] = Float(a * sin(theta) + b * cos(theta))
            }
        }
        return y
    }

    func testPartialRotaryMatchesNaive() {
        for (width, rotary, scaling) in [(16, 6, 1.0), (12, 12, 1.0), (10, 4, 8.0)] {
            let table = RoPETable(headWidth: width, base: 10_000, rotaryWidth: rotary, linearScaling: Float(scaling))
            table.reserve(positions: 40)
            for position in [0, 1, 17, 39] {
                var x = random(3 * width)
                let expected = naiveRoPE(x, heads: 3, width: width, rotary: rotary, base: 10_000,
                                         position: position, scaling: scaling)
                let original = x
                table.rotate(&x, heads: 3, position: position)
                for i in 0..<x.count { XCTAssertEqual(x[i], expected[i], accuracy: 2e-5, "R \(rotary) p \(position) [\(i)]") }
                // Dimensions past R are untouched, bit for bit.
                for h in 0..<3 {
                    for j in rotary..<width { XCTAssertEqual(x[h * width + j], original[h * width + j]) }
                }
            }
        }
    }

    func testDefaultRotaryWidthIsTheHeadWidth() {
        let full = RoPETable(headWidth: 8, base: 500), explicit = RoPETable(headWidth: 8, base: 500, rotaryWidth: 8)
        full.reserve(positions: 10)
        explicit.reserve(positions: 10)
        XCTAssertEqual(full.rotaryWidth, 8)
        var a = random(16)
        var b = a
        full.rotate(&a, heads: 2, position: 9)
        explicit.rotate(&b, heads: 2, position: 9)
        XCTAssertEqual(a, b)
    }

    /// The backward (inverse rotation) is the transpose: central differences of ⟨rotate(x), dy⟩.
    func testPartialRotaryBackwardMatchesFiniteDifferences() {
        let table = RoPETable(headWidth: 10, base: 100, rotaryWidth: 6)
        table.reserve(positions: 8)
        let x = random(20), dy = random(20)
        func loss(_ x: [Float]) -> Double {
            var y = x
            table.rotate(&y, heads: 2, position: 7)
            return pairing(y, dy)
        }
        var dx = dy
        table.rotate(&dx, heads: 2, position: 7, inverse: true)
        assertGradient(dx, of: loss, at: x, accuracy: 1e-4, "dx")
    }

    // MARK: Bias

    func testBiasAddAndGradientMatchNaive() {
        let rows = 5, width = 13, stride = 20
        let b = random(width), start = random(rows * stride)
        var y = start
        Bias.add(b, rows: rows, width: width, to: &y, stride: stride)
        for r in 0..<rows {
            for c in 0..<stride {
                let expected = c < width ? start[r * stride + c] + b[c] : start[r * stride + c]
                XCTAssertEqual(y[r * stride + c], expected)
            }
        }
        let dy = random(rows * stride)
        var db = [Float](repeating: 0.5, count: width)
        Bias.gradient(dy, rows: rows, width: width, stride: stride, into: &db)
        for c in 0..<width {
            let sum = (0..<rows).reduce(0.0) { $0 + Double(dy[$1 * stride + c]) }
            XCTAssertEqual(Double(db[c]), 0.5 + sum, accuracy: 1e-6)
        }
        // The gradient is the derivative of ⟨y + b, dy⟩ in b.
        func loss(_ b: [Float]) -> Double {
            var y = start
            Bias.add(b, rows: rows, width: width, to: &y, stride: stride)
            return pairing(y, dy)
        }
        assertGradient(db.map { $0 - 0.5 }, of: loss, at: b, accuracy: 1e-4, "dbias")
    }

    // MARK: Attention with a scale, a soft-cap and a sliding window (Gemma-3)

    func testAttentionVariantsMatchNaive() {
        let variants: [(Float?, Float?, Int?)] = [(nil, nil, 3), (0.2, nil, nil), (nil, 1.5, nil), (0.3, 2, 2)]
        for (scale, cap, window) in variants {
            let shape = AttentionShape(queryHeads: 4, keyValueHeads: 1, headWidth: 6, scale: scale,
                                       softCap: cap, window: window)
            for (past, tokens) in [(0, 6), (4, 1), (3, 4)] {
                let hd = 24, kvw = 6, total = past + tokens
                let q = random(tokens * hd, scale: 3), k = random(total * kvw, scale: 3), v = random(total * kvw)
                var z = [Float](repeating: 0, count: tokens * hd)
                var probs = [Float](repeating: 0, count: 4 * tokens * total)
                CausalAttention.forward(
                    q: q, qStride: hd, keys: k, values: v, kvStride: kvw, past: past, tokens: tokens,
                    shape: shape, z: &z, zStride: hd, probabilities: &probs)
                let expected = CausalAttention.naive(q: q, keys: k, values: v, past: past, tokens: tokens, shape: shape)
                for i in 0..<z.count {
                    XCTAssertEqual(z[i], expected[i], accuracy: 2e-5, "\(shape) P \(past) T \(tokens) [\(i)]")
                }
                if let window {  // keys at distance ≥ W get exactly zero weight
                    for h in 0..<4 {
                        for i in 0..<tokens {
                            for j in 0..<total where past + i - j >= window {
                                XCTAssertEqual(probs[(h * tokens + i) * total + j], 0)
                            }
                        }
                    }
                }
            }
        }
        // The defaults are today's attention, bit for bit.
        let plain = AttentionShape(queryHeads: 2, keyValueHeads: 2, headWidth: 4)
        let explicit = AttentionShape(queryHeads: 2, keyValueHeads: 2, headWidth: 4, scale: 0.5)
        let q = random(3 * 8), k = random(3 * 8), v = random(3 * 8)
        var a = [Float](repeating: 0, count: 24), b = a, p = [Float](repeating: 0, count: 18)
        CausalAttention.forward(q: q, qStride: 8, keys: k, values: v, kvStride: 8, past: 0, tokens: 3,
                                shape: plain, z: &a, zStride: 8, probabilities: &p)
        CausalAttention.forward(q: q, qStride: 8, keys: k, values: v, kvStride: 8, past: 0, tokens: 3,
                                shape: explicit, z: &b, zStride: 8, probabilities: &p)
        XCTAssertEqual(a, b)
    }

    func testAttentionVariantsBackwardMatchFiniteDifferences() {
        for (cap, window, past) in [(Float(1.5), 3, 0), (Float(2), 2, 2), (Float(1), 100, 1)] {
            let shape = AttentionShape(queryHeads: 4, keyValueHeads: 2, headWidth: 4, scale: 0.6,
                                       softCap: cap, window: window)
            let t = 5, hd = 16, kvw = 8, total = past + t
            let pastK = random(past * kvw, scale: 2), pastV = random(past * kvw)
            let q = random(t * hd, scale: 2), k = random(t * kvw, scale: 2), v = random(t * kvw), dz = random(t * hd)
            func loss(_ q: [Float], _ k: [Float], _ v: [Float]) -> Double {
                var z = [Float](repeating: 0, count: t * hd)
                var p = [Float](repeating: 0, count: 4 * t * total)
                CausalAttention.forward(
                    q: q, qStride: hd, keys: pastK + k, values: pastV + v, kvStride: kvw, past: past,
                    tokens: t, shape: shape, z: &z, zStride: hd, probabilities: &p)
                return pairing(z, dz)
            }
            var z = [Float](repeating: 0, count: t * hd)
            var probs = [Float](repeating: 0, count: 4 * t * total)
            let keys = pastK + k, values = pastV + v
            CausalAttention.forward(
                q: q, qStride: hd, keys: keys, values: values, kvStride: kvw, past: past, tokens: t,
                shape: shape, z: &z, zStride: hd, probabilities: &probs)
            var dq = [Float](repeating: 0, count: q.count), dk = [Float](repeating: 0, count: k.count)
            var dv = [Float](repeating: 0, count: v.count)
            var scratch = [Float](repeating: 0, count: 2 * t * total)
            CausalAttention.backward(
                dz: dz, zStride: hd, q: q, qStride: hd, keys: keys, values: values, kvStride: kvw,
                probabilities: probs, past: past, tokens: t, shape: shape, dq: &dq, dqStride: hd,
                dk: &dk, dv: &dv, dkvStride: kvw, scratch: &scratch)
            assertGradient(dq, of: { loss($0, k, v) }, at: q, "dq cap \(cap) W \(window)")
            assertGradient(dk, of: { loss(q, $0, v) }, at: k, "dk cap \(cap) W \(window)")
            assertGradient(dv, of: { loss(q, k, $0) }, at: v, "dv cap \(cap) W \(window)")
        }
    }
}
