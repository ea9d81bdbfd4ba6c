import Foundation
import LocusCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a process learns from its batch allocation.
public enum BatchEnvironment {
    /// The default worker-thread count: `$SLURM_CPUS_PER_TASK` inside a Slurm job (the CPUs the
    /// job was given, whatever the node has), else the CPUs this process may run on
    /// (`sched_getaffinity`, which honours `taskset`, cgroup cpusets and Slurm's task/affinity),
    /// else the online processor count.
    public static func defaultThreads(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        if let text = environment["SLURM_CPUS_PER_TASK"], let n = Int(text.trimmingCharacters(in: .whitespaces)), n >= 1 {
            return n
        }
        return affinityCPUCount() ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// CPUs in this process's affinity mask (Linux `sched_getaffinity`); nil elsewhere or on error.
    public static func affinityCPUCount() -> Int? {
        #if os(Linux)
            // Glibc's module map hides sched_getaffinity (it needs _GNU_SOURCE): look it up.
            typealias GetAffinity = @convention(c) (pid_t, Int, UnsafeMutableRawPointer) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sched_getaffinity") else { return nil }
            let getAffinity = unsafeBitCast(symbol, to: GetAffinity.self)
            var mask = [UInt64](repeating: 0, count: 16)  // 1024 CPUs, glibc's cpu_set_t
            let status = mask.withUnsafeMutableBytes { getAffinity(0, $0.count, $0.baseAddress!) }
            guard status == 0 else { return nil }
            let count = mask.reduce(0) { $0 + $1.nonzeroBitCount }
            return count > 0 ? count : nil
        #else
            return nil
        #endif
    }
}
