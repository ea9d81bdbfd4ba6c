// Decode products of F16/BF16 stored weights with fp32 activations (locus_matvec16.h): the row
// dot products of matvec16_body.h compiled three times, function by function (no global -march):
// - scalar: one float accumulator per row, columns in order (the reference order);
// - AVX2 + FMA + F16C: 8 lanes, BF16 widened by vpmovzxwd + vpslld 16, F16 by vcvtph2ps;
// - AVX-512 F: 16 lanes, the same widenings (Zen 5 and recent Intel run them at full width).
// Widening is exact for both types, and every product is a float32 FMA, so the only difference
// from `dequantise to fp32, then sgemv` is the order of the float additions.
//
// Why this exists: the stored-16-bit decode path used to dequantise each panel of W into an fp32
// scratch buffer (2 bytes read, 4 written, 4 read again per weight) and call sgemm with one row;
// reading the 2 bytes once and multiplying in registers moves a third of the bytes.
#include "kernels_internal.h"
#include "locus_matvec16.h"

static float locus_bf16_to_float(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

// The scalar twin: one float accumulator per row, columns in order.
static void m16_rows_scalar(
    int type, const uint8_t *w, size_t rowBytes, int64_t rows, int64_t cols, const float *x,
    int64_t n, int64_t ldx, float *y, int64_t ldy) {
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *row = w + (size_t)r * rowBytes;
        for (int64_t i = 0; i < n; i++) {
            const float *xi = x + i * ldx;
            float sum = 0;
            if (type == LOCUS_BF16) {
                for (int64_t c = 0; c < cols; c++) sum += locus_bf16_to_float(load_u16(row + 2 * c)) * xi[c];
            } else {
                for (int64_t c = 0; c < cols; c++) sum += locus_half_to_float(load_u16(row + 2 * c)) * xi[c];
            }
            y[i * ldy + r] = sum;
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#define M16_NAME(name) m16_##name##_avx2
#define M16_VEC __m256
#define M16_LANES 8
#define M16_ZERO() _mm256_setzero_ps()
#define M16_BF16(p) \
    _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p))), 16))
#define M16_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define M16_LOADX(p) _mm256_loadu_ps(p)
#define M16_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define M16_ADD(a, b) _mm256_add_ps((a), (b))
static inline float m16_sum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#define M16_SUM(v) m16_sum_avx2(v)
#include "matvec16_body.h"
#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma,f16c"))), apply_to = function)
#define M16_NAME(name) m16_##name##_avx512
#define M16_VEC __m512
#define M16_LANES 16
#define M16_ZERO() _mm512_setzero_ps()
#define M16_BF16(p) \
    _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(p))), 16))
#define M16_F16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))
#define M16_LOADX(p) _mm512_loadu_ps(p)
#define M16_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define M16_ADD(a, b) _mm512_add_ps((a), (b))
#define M16_SUM(v) _mm512_reduce_add_ps(v)
#include "matvec16_body.h"
#pragma clang attribute pop

int locus_cpu_has_avx512f(void) {
    static int cached = -1;
    if (cached < 0) cached = locus_cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f");
    return cached;
}

#else

int locus_cpu_has_avx512f(void) { return 0; }

#endif

int locus_matvec16_supports(int type) { return type == LOCUS_F16 || type == LOCUS_BF16; }

typedef void (*m16_rows_kernel)(int, const uint8_t *, size_t, int64_t, int64_t, const float *,
                                int64_t, int64_t, float *, int64_t);

static m16_rows_kernel m16_choose(int path) {
#if defined(__x86_64__)
    if ((path == LOCUS_MV16_AUTO || path == LOCUS_MV16_AVX512) && locus_cpu_has_avx512f())
        return m16_rows_avx512;
    if (path != LOCUS_MV16_SCALAR && locus_cpu_has_avx2_fma()) return m16_rows_avx2;
#else
    (void)path;
#endif
    return m16_rows_scalar;
}

int locus_matvec16(
    int type, const void *weights, size_t rowBytes, int64_t rows, int64_t cols,
    const float *x, int64_t n, int64_t ldx, float *y, int64_t ldy, int path) {
    if (!locus_matvec16_supports(type) || rows < 0 || cols < 0 || n < 0) return -1;
    m16_choose(path)(type, (const uint8_t *)weights, rowBytes, rows, cols, x, n, ldx, y, ldy);
    return 0;
}
