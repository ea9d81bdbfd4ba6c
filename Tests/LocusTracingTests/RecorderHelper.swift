import LocusInterventions
import LocusModel

/// Records the clean activations a TraceHook needs: site → (T, width).
final class LocusInterventionsRecorder {
    let hook: ActivationRecorder
    init(sites: Set<ActivationSite>) { hook = ActivationRecorder(sites: sites, positions: .all) }
    var clean: [ActivationSite: [Float]] {
        var out: [ActivationSite: [Float]] = [:]
        for (site, values) in hook.recorded { out[site] = values[0] }
        return out
    }
}
