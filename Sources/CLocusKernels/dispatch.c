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

int locus_cpu_has_avx512_vnni(void) {
#if defined(__x86_64__)
    static int cached = -1;
    if (cached < 0)
        cached = locus_cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f")
              && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
              && __builtin_cpu_supports("avx512vnni");
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
    // Only Q4_K and Q6_K have a 512-bit row kernel (matvec_avx512.c); the other types run their
    // AVX-VNNI kernel on LOCUS_PATH_AVX512_VNNI, as AUTO does.
    if ((path == LOCUS_PATH_AUTO || path == LOCUS_PATH_AVX512_VNNI) && locus_cpu_has_avx512_vnni())
        kernel = locus_avx512_kernel(type);
    if (!kernel && (path == LOCUS_PATH_AUTO || path == LOCUS_PATH_AVX_VNNI || path == LOCUS_PATH_AVX512_VNNI)
        && locus_cpu_has_avx_vnni())
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

/// The register-tiled GEMM for `type` on `path`, or NULL (then the row loop below runs).
static locus_gemm_kernel choose_gemm(int type, int path) {
    if (path == LOCUS_PATH_SCALAR) return 0;
    locus_gemm_kernel gemm = 0;
    if ((path == LOCUS_PATH_AUTO || path == LOCUS_PATH_AVX512_VNNI) && locus_cpu_has_avx512_vnni())
        gemm = locus_avx512_gemm(type);
    if (!gemm && path != LOCUS_PATH_AVX2 && locus_cpu_has_avx_vnni()) gemm = locus_vnni_gemm(type);
    if (!gemm && locus_cpu_has_avx2_fma()) gemm = locus_avx2_gemm(type);
    return gemm;
}

int locus_matmul_path(int type, int path) {
    locus_gemm_kernel gemm = choose_gemm(type, path);
    if (!gemm) return locus_matvec_supports(type) ? LOCUS_MATMUL_ROWS : LOCUS_MATMUL_NONE;
    if (gemm == locus_avx512_gemm(type)) return LOCUS_MATMUL_GEMM_AVX512_VNNI;
    if (gemm == locus_vnni_gemm(type)) return LOCUS_MATMUL_GEMM_AVX_VNNI;
    return LOCUS_MATMUL_GEMM_AVX2;
}

int locus_matmul(
    int type, const void *weights, size_t rowBytes, int64_t rows, int64_t cols, int64_t n,
    const int8_t *q, const float *scale, const int32_t *sum, float *y, int64_t ldy, int path) {
    locus_row_kernel kernel = choose(type, path);
    if (!kernel || cols <= 0 || cols % block_elements(type) != 0 || rows < 0 || n < 0) return -1;
    const int64_t blocks = cols / block_elements(type), actBlocks = cols / 32;
    const uint8_t *base = (const uint8_t *)weights;
    locus_gemm_kernel gemm = choose_gemm(type, path);
    if (gemm) {
        gemm(base, rowBytes, rows, actBlocks, n, q, scale, sum, y, ldy);
        return 0;
    }
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
