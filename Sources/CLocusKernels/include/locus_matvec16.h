// Products of 16-bit stored weights (F16, BF16) with fp32 activations, for decoding: every weight
// is widened to float32 (exact for both types) and multiplied by the unquantised fp32 activation,
// accumulating in float32. Unlike the block kernels (locus_matvec), the activation is not
// quantised: the result is the fp32 product y = x·Wᵀ up to the order of the additions.
#ifndef LOCUS_MATVEC16_H
#define LOCUS_MATVEC16_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Which implementation `locus_matvec16` runs (values shared with `LocusKernelPath`, plus one).
enum LocusMatvec16Path {
    LOCUS_MV16_AUTO = 0,    ///< AVX-512 F when the CPU has it, else AVX2 + FMA + F16C, else scalar
    LOCUS_MV16_SCALAR = 1,  ///< portable C, one accumulator per row (the naive twin's order)
    LOCUS_MV16_AVX2 = 2,    ///< 8 lanes × 4 accumulators; falls back to scalar where unavailable
    LOCUS_MV16_AVX512 = 4,  ///< 16 lanes × 4 accumulators; falls back to AVX2, then scalar
};

/// 1 when `locus_matvec16` accepts ggml type `type` (F16 = 1, BF16 = 30).
int locus_matvec16_supports(int type);

/// 1 when this build and CPU can run the AVX-512 F path.
int locus_cpu_has_avx512f(void);

/// Y[i, r] = Σ_c widen(W[r, c]) · X[i, c] for i in 0..<n and r in 0..<rows, in float32.
/// W: `rows` rows of `cols` 16-bit values of `type`, `rowBytes` apart (any alignment);
/// X row i at x + i·ldx; Y row i at y + i·ldy (overwritten). The n activation rows pass over each
/// weight row while it is in cache, so W streams from memory once. Returns 0, or -1 for an
/// unsupported type or a negative size.
int locus_matvec16(
    int type, const void *weights, size_t rowBytes, int64_t rows, int64_t cols,
    const float *x, int64_t n, int64_t ldx, float *y, int64_t ldy, int path);

#ifdef __cplusplus
}
#endif

#endif
