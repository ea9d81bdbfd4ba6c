import LocusCore
import Foundation
import LocusRecipes

/// A stand-in executor for tests of the runner (hidden `--executor fake`): sleeps, then returns
/// metrics derived from the run ID, better for top sets and growing with α/τ up to a point.
public struct FakeExecutor: RunExecutor {
    public var sleep: Double

    public init(sleep: Double) { self.sleep = sleep }

    public func execute(_ run: RunSpec) throws -> [String: JSONValue] {
        if sleep > 0 { Thread.sleep(forTimeInterval: sleep) }
        let h = UInt64(run.runID.prefix(15), radix: 16) ?? 0
        func unit(_ shift: UInt64) -> Double { Double((h >> shift) & 0xFFFF) / 65535 }
        let strength = run.number("alpha").map { $0 / 20 } ?? run.number("tau").map { $0 * 2 } ?? 0.5
        let bonus = run.headSet?.kind == "top" ? 0.15 : 0
        let truth = min(1, 0.3 + 0.3 * strength + bonus + 0.1 * unit(0))
        let info = max(0, 0.95 - 0.25 * strength * strength + 0.05 * unit(16))
        return [
            MetricNames.truth: .number(truth), MetricNames.info: .number(info),
            MetricNames.truthTimesInfo: .number(truth * info),
            MetricNames.mc1: .number(0.2 + 0.1 * unit(32)), MetricNames.mc2: .number(0.35 + 0.1 * strength * (bonus > 0 ? 1 : 0.2) + 0.05 * unit(40)),
            MetricNames.ce: .number(3 + strength), MetricNames.kl: .number(0.05 + 0.3 * strength * strength),
            "fake": .bool(true),
        ]
    }
}
