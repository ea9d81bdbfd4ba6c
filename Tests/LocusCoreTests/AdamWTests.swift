import Foundation
import LocusCore
import XCTest

final class AdamWTests: XCTestCase {
    /// Two steps against the update written out by hand (Kingma & Ba, Algorithm 1; decoupled
    /// decay as Loshchilov & Hutter).
    func testStepsMatchTheFormula() {
        for decay in [0.0, 0.1] {
            var adam = AdamW(parameterCount: 2, weightDecay: decay)
            var theta: [Float] = [1, -2]
            let grads: [[Float]] = [[0.5, -1], [0.25, 3]]
            var m = [0.0, 0.0], v = [0.0, 0.0], expected = theta.map(Double.init)
            for (t, g) in grads.enumerated() {
                adam.update(&theta, gradient: g, learningRate: 0.01)
                for i in 0..<2 {
                    m[i] = 0.9 * m[i] + 0.1 * Double(g[i])
                    v[i] = 0.999 * v[i] + 0.001 * Double(g[i]) * Double(g[i])
                    let mHat = m[i] / (1 - pow(0.9, Double(t + 1))), vHat = v[i] / (1 - pow(0.999, Double(t + 1)))
                    expected[i] = Double(Float(expected[i] - 0.01 * (mHat / (vHat.squareRoot() + 1e-8) + decay * expected[i])))
                }
                for i in 0..<2 { XCTAssertEqual(Double(theta[i]), expected[i], accuracy: 1e-7) }
            }
            XCTAssertEqual(adam.step, 2)
        }
        // The first Adam step moves every coordinate by about the learning rate, against the
        // gradient's sign.
        var adam = AdamW(parameterCount: 3)
        var theta: [Float] = [0, 0, 0]
        adam.update(&theta, gradient: [3, -0.001, 40], learningRate: 0.5)
        for (x, s) in zip(theta, [-1.0, 1.0, -1.0]) { XCTAssertEqual(Double(x), 0.5 * s, accuracy: 1e-4) }
    }
}
