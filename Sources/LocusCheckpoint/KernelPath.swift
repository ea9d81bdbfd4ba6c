import CLocusKernels

/// Which implementation of a C kernel in `CLocusKernels` to run (dequantisation here, quantised
/// matrix-vector products in LocusWeights). Tests force `.scalar` to cover the portable path,
/// and `.avx2` (where `hasAVX2`) for the vector path; everything else uses `.automatic`.
public enum KernelPath: Int32, Sendable, CaseIterable {
    /// The widest path the CPU has (checked once at run time): AVX-512 VNNI, AVX-VNNI, AVX2 + FMA +
    /// F16C, else scalar.
    case automatic = 0
    /// Portable C, on every platform.
    case scalar = 1
    /// x86-64 AVX2 + FMA + F16C; the scalar code where unavailable.
    case avx2 = 2
    /// AVX2 with AVX-VNNI byte dot products (`vpdpbusd`) in the int8 matrix-vector kernels
    /// (dequantisation runs AVX2); AVX2, then scalar, where unavailable. `.automatic` picks it
    /// when the CPU has it.
    case avxVNNI = 3
    /// AVX-512 F/BW/VL/VNNI: the int8 GEMM of batched products (`locus_matmul`) and the Q4_K and
    /// Q6_K matrix-vector kernels on 512-bit registers; the other matrix-vector kernels and the
    /// dequantisers run as `.automatic` does. Falls back like `.automatic` where unavailable.
    /// `.automatic` picks it when the CPU has it.
    case avx512VNNI = 4

    /// Whether this build and CPU run the AVX2 + FMA + F16C kernels under `.automatic`.
    public static var hasAVX2: Bool { locus_cpu_has_avx2_fma() != 0 }

    /// Whether this build and CPU run the AVX-VNNI matrix-vector kernels.
    public static var hasAVXVNNI: Bool { locus_cpu_has_avx_vnni() != 0 }

    /// Whether this build and CPU run the AVX-512 VNNI GEMM and 512-bit Q4_K/Q6_K kernels.
    public static var hasAVX512VNNI: Bool { locus_cpu_has_avx512_vnni() != 0 }

    /// The paths this machine can run distinctly: `.scalar`, plus `.avx2` where `hasAVX2`, plus
    /// `.avxVNNI` where `hasAVXVNNI`, plus `.avx512VNNI` where `hasAVX512VNNI`.
    public static var available: [KernelPath] {
        (hasAVX2 ? [.scalar, .avx2] : [.scalar]) + (hasAVXVNNI ? [.avxVNNI] : [])
            + (hasAVX512VNNI ? [.avx512VNNI] : [])
    }
}
