import Foundation
import LocusTensor

// Locus's vectorised element-wise kernels (LocusTensor) against plain scalar loops doing the
// same maths (Foundation.tanh/erf per element, sequential sums per row), on the same inputs in
// one process, so the ratio holds on a noisy machine. Not a test: a timing to read.
//
//     cd scripts/bench/kernels && swift build -c release && .build/release/kernel-bench
func time(_ label: String, repeats: Int, _ body: () -> Void) -> Double {
    body()  // warm-up (first touch of the output)
    let start = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<repeats { body() }
    let s = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(repeats)
    return s
}
var rng = SeededGenerator(seed: 1)
let rows = 128, width = 768, f = 3072
let x = (0..<rows * f).map { _ in Float(rng.nextNormal()) }
var y = [Float](repeating: 0, count: x.count)
let n = x.count
let k: Float = 0.7978845608, a: Float = 0.044715
for approximation in GELU.Approximation.allCases {
    let fast = time("gelu", repeats: 20) {
        GELU.forward(x, count: n, approximation: approximation, into: &y)
    }
    let slow = time("scalar", repeats: 20) {
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
            for i in 0..<n {
                let v = xp[i]
                yp[i] = approximation == .tanh
                    ? 0.5 * v * (1 + Foundation.tanh(k * (v + a * v * v * v)))
                    : 0.5 * v * (1 + Foundation.erf(v * 0.70710678))
            }
        } }
    }
    print("GELU \(approximation) forward (128×3072): SIMD \(String(format: "%.3f", fast * 1e3)) ms, scalar \(String(format: "%.3f", slow * 1e3)) ms, ×\(String(format: "%.1f", slow / fast))")
}
let xs = (0..<rows * width).map { _ in Float(rng.nextNormal()) }
let w = (0..<width).map { _ in Float(rng.nextNormal()) }, b = w
var ys = [Float](repeating: 0, count: xs.count)
let fastLN = time("ln", repeats: 200) {
    LayerNorm.forward(xs, weight: w, bias: b, rows: rows, width: width, epsilon: 1e-5, into: &ys)
}
let slowLN = time("ln scalar", repeats: 200) {
    xs.withUnsafeBufferPointer { xp in ys.withUnsafeMutableBufferPointer { yp in
        for r in 0..<rows {
            var s: Float = 0
            for i in 0..<width { s += xp[r * width + i] }
            let mu = s / Float(width)
            var q: Float = 0
            for i in 0..<width { let d = xp[r * width + i] - mu; q += d * d }
            let inv = 1 / (q / Float(width) + 1e-5).squareRoot()
            for i in 0..<width { yp[r * width + i] = (xp[r * width + i] - mu) * inv * w[i] + b[i] }
        }
    } }
}
print("LayerNorm forward (128×768): SIMD \(String(format: "%.3f", fastLN * 1e3)) ms, scalar \(String(format: "%.3f", slowLN * 1e3)) ms, ×\(String(format: "%.1f", slowLN / fastLN))")
let logits = (0..<262_144).map { _ in Float(rng.nextNormal()) * 10 }
var capped = logits
let fastCap = time("cap", repeats: 50) { SoftCap.forward(logits, cap: 30, count: logits.count, into: &capped) }
let slowCap = time("cap scalar", repeats: 50) {
    logits.withUnsafeBufferPointer { lp in capped.withUnsafeMutableBufferPointer { cp in
        for i in 0..<lp.count { cp[i] = 30 * Foundation.tanh(lp[i] / 30) }
    } }
}
print("SoftCap forward (262,144 logits): SIMD \(String(format: "%.3f", fastCap * 1e3)) ms, scalar \(String(format: "%.3f", slowCap * 1e3)) ms, ×\(String(format: "%.1f", slowCap / fastCap))")
