// Run-time choice between the AVX2 + FMA and scalar kernels, and the row loop.
#include "kernels_internal.h"

int locus_cpu_has_avx2_fma(void) {
#if defined(__x86_64__)
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
              && __builtin_cpu_supports("f16c");
    }
    return cached;
#else
    return 0;
#endif
}

int locus_matvec_supports(int type) { return locus_scalar_kernel(type) != 0; }

static int64_t block_elements(int type) {
    return (type == LOCUS_Q4_K || type == LOCUS_Q5_K || type == LOCUS_Q6_K) ? 256 : 32;
}

int locus_matvec(
    int type, const void *weights, size_t rowBytes, int64_t rows, int64_t cols,
    const int8_t *q, const float *scale, const int32_t *sum, float *y, int path) {
    locus_row_kernel kernel = 0;
    if (path != LOCUS_PATH_SCALAR && locus_cpu_has_avx2_fma()) kernel = locus_avx2_kernel(type);
    if (!kernel) kernel = locus_scalar_kernel(type);
    if (!kernel || cols <= 0 || cols % block_elements(type) != 0 || rows < 0) return -1;
    const int64_t blocks = cols / block_elements(type);
    const uint8_t *base = (const uint8_t *)weights;
    for (int64_t r = 0; r < rows; r++) y[r] = kernel(base + (size_t)r * rowBytes, blocks, q, scale, sum);
    return 0;
}
