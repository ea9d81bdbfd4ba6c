// Run-time choice between the AVX-VNNI, AVX2 + FMA and scalar kernels, and the row loops.
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

int locus_cpu_has_avx_vnni(void) {
#if defined(__x86_64__)
    static int cached = -1;
    if (cached < 0) cached = locus_cpu_has_avx2_fma() && __builtin_cpu_supports("avxvnni");
    return cached;
#else
    return 0;
#endif
}

int locus_matvec_supports(int type) { return locus_scalar_kernel(type) != 0; }

static int64_t block_elements(int type) {
    return (type == LOCUS_Q4_K || type == LOCUS_Q5_K || type == LOCUS_Q6_K) ? 256 : 32;
}

static locus_row_kernel choose(int type, int path) {
    locus_row_kernel kernel = 0;
    if ((path == LOCUS_PATH_AUTO || path == LOCUS_PATH_AVX_VNNI) && locus_cpu_has_avx_vnni())
        kernel = locus_vnni_kernel(type);
    if (!kernel && path != LOCUS_PATH_SCALAR && locus_cpu_has_avx2_fma()) kernel = locus_avx2_kernel(type);
    if (!kernel) kernel = locus_scalar_kernel(type);
    return kernel;
}

int locus_matvec(
    int type, const void *weights, size_t rowBytes, int64_t rows, int64_t cols,
    const int8_t *q, const float *scale, const int32_t *sum, float *y, int path) {
    locus_row_kernel kernel = choose(type, path);
    if (!kernel || cols <= 0 || cols % block_elements(type) != 0 || rows < 0) return -1;
    const int64_t blocks = cols / block_elements(type);
    const uint8_t *base = (const uint8_t *)weights;
    for (int64_t r = 0; r < rows; r++) y[r] = kernel(base + (size_t)r * rowBytes, blocks, q, scale, sum);
    return 0;
}

int locus_matmul(
    int type, const void *weights, size_t rowBytes, int64_t rows, int64_t cols, int64_t n,
    const int8_t *q, const float *scale, const int32_t *sum, float *y, int64_t ldy, int path) {
    locus_row_kernel kernel = choose(type, path);
    if (!kernel || cols <= 0 || cols % block_elements(type) != 0 || rows < 0 || n < 0) return -1;
    const int64_t blocks = cols / block_elements(type), actBlocks = cols / 32;
    const uint8_t *base = (const uint8_t *)weights;
    // A tile of W rows of about 64 KB stays in L2 while the n activation rows pass over it.
    int64_t tile = (int64_t)(65536 / (rowBytes ? rowBytes : 1));
    if (tile < 1) tile = 1;
    for (int64_t r0 = 0; r0 < rows; r0 += tile) {
        const int64_t r1 = r0 + tile < rows ? r0 + tile : rows;
        for (int64_t i = 0; i < n; i++) {
            const int8_t *qi = q + i * cols;
            const float *si = scale + i * actBlocks;
            const int32_t *ci = sum + i * actBlocks;
            float *yi = y + i * ldy;
            for (int64_t r = r0; r < r1; r++)
                yi[r] = kernel(base + (size_t)r * rowBytes, blocks, qi, si, ci);
        }
    }
    return 0;
}
