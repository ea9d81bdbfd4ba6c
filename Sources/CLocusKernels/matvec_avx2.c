// AVX2 + FMA kernels, compiled for those features function by function (no global -march), and
// called only after `__builtin_cpu_supports` said yes (see dispatch.c). Each block's 32 weights
// become one register of signed bytes; `dot_bytes` multiplies them by the activation's bytes
// (vpmaddubsw on |w| and sign(x, w), then vpmaddwd with ones: eight int32 sums of four
// products each, exact: |w|, |x| ≤ 128 keeps each pair sum under 2^15); the int32 sums are
// converted and accumulated in float with the block's scale.
#include "kernels_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))

/// Eight int32 lanes; lane i = Σ_{j=4i}^{4i+3} w[j]·x[j].
AVX2 static inline __m256i dot_bytes(__m256i w, __m256i x) {
    __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

AVX2 static inline float half(const uint8_t *p) {
    return _cvtsh_ss(load_u16(p));
}

AVX2 static inline float horizontal_sum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// 16 packed bytes → 32 nibbles: low nibbles in bytes 0…15, high nibbles in 16…31.
AVX2 static inline __m256i nibbles_16(const uint8_t *p) {
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    __m256i both = _mm256_set_m128i(_mm_srli_epi16(v, 4), v);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

/// The 32 bits of `bits` as bytes: byte j is `value` when bit j is set, else 0.
AVX2 static inline __m256i bits_to_bytes(uint32_t bits, char value) {
    // Byte j takes byte j / 8 of `bits`, then tests bit j % 8 of it.
    const __m256i spread = _mm256_setr_epi8(
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
        2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i select = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), spread);
    __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(v, select), select);
    return _mm256_and_si256(set, _mm256_set1_epi8(value));
}

AVX2 static inline __m256i load_x(const int8_t *q) {
    return _mm256_loadu_si256((const __m256i *)q);
}

AVX2 static float row_q8_0(const uint8_t *row, int64_t blocks, const int8_t *q,
                           const float *xs, const int32_t *xsum) {
    (void)xsum;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *block = row + 34 * b;
        __m256i w = _mm256_loadu_si256((const __m256i *)(block + 2));
        __m256 s = _mm256_cvtepi32_ps(dot_bytes(w, load_x(q + 32 * b)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half(block) * xs[b]), s, acc);
    }
    return horizontal_sum(acc);
}

AVX2 static float row_q4_0(const uint8_t *row, int64_t blocks, const int8_t *q,
                           const float *xs, const int32_t *xsum) {
    (void)xsum;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *block = row + 18 * b;
        __m256i w = _mm256_sub_epi8(nibbles_16(block + 2), _mm256_set1_epi8(8));
        __m256 s = _mm256_cvtepi32_ps(dot_bytes(w, load_x(q + 32 * b)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half(block) * xs[b]), s, acc);
    }
    return horizontal_sum(acc);
}

AVX2 static float row_q4_1(const uint8_t *row, int64_t blocks, const int8_t *q,
                           const float *xs, const int32_t *xsum) {
    __m256 acc = _mm256_setzero_ps();
    float offsets = 0;
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *block = row + 20 * b;
        __m256i w = nibbles_16(block + 4);
        __m256 s = _mm256_cvtepi32_ps(dot_bytes(w, load_x(q + 32 * b)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half(block) * xs[b]), s, acc);
        offsets += half(block + 2) * xs[b] * (float)xsum[b];
    }
    return horizontal_sum(acc) + offsets;
}

AVX2 static float row_q5_0(const uint8_t *row, int64_t blocks, const int8_t *q,
                           const float *xs, const int32_t *xsum) {
    (void)xsum;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *block = row + 22 * b;
        __m256i w = _mm256_or_si256(nibbles_16(block + 6), bits_to_bytes(load_u32(block + 2), 16));
        w = _mm256_sub_epi8(w, _mm256_set1_epi8(16));
        __m256 s = _mm256_cvtepi32_ps(dot_bytes(w, load_x(q + 32 * b)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half(block) * xs[b]), s, acc);
    }
    return horizontal_sum(acc);
}

AVX2 static inline void scale_min_k4(const uint8_t *s, int j, int *sc, int *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

AVX2 static inline float row_q45_k(int five, const uint8_t *row, int64_t superBlocks,
                                   const int8_t *q, const float *xs, const int32_t *xsum) {
    __m256 acc = _mm256_setzero_ps();
    float offsets = 0;
    const size_t stride = five ? 176 : 144;
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    for (int64_t b = 0; b < superBlocks; b++) {
        const uint8_t *block = row + stride * b;
        float d = half(block), dmin = half(block + 2);
        const uint8_t *qs = block + (five ? 48 : 16);
        __m256i qh = five ? _mm256_loadu_si256((const __m256i *)(block + 16)) : _mm256_setzero_si256();
        for (int pair = 0; pair < 4; pair++) {
            __m256i bytes = _mm256_loadu_si256((const __m256i *)(qs + 32 * pair));
            for (int half_ = 0; half_ < 2; half_++) {
                int sub = 2 * pair + half_;
                __m256i w = _mm256_and_si256(half_ ? _mm256_srli_epi16(bytes, 4) : bytes, low4);
                if (five) {
                    __m256i bit = _mm256_set1_epi8((char)(1 << sub));
                    __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit);
                    w = _mm256_or_si256(w, _mm256_and_si256(set, _mm256_set1_epi8(16)));
                }
                int sc, m;
                scale_min_k4(block + 4, sub, &sc, &m);
                int64_t a = 8 * b + sub;
                __m256 s = _mm256_cvtepi32_ps(dot_bytes(w, load_x(q + 32 * a)));
                acc = _mm256_fmadd_ps(_mm256_set1_ps(d * (float)sc * xs[a]), s, acc);
                offsets += dmin * (float)m * xs[a] * (float)xsum[a];
            }
        }
    }
    return horizontal_sum(acc) - offsets;
}

AVX2 static float row_q4_k(const uint8_t *row, int64_t n, const int8_t *q, const float *xs,
                           const int32_t *xsum) {
    return row_q45_k(0, row, n, q, xs, xsum);
}

AVX2 static float row_q5_k(const uint8_t *row, int64_t n, const int8_t *q, const float *xs,
                           const int32_t *xsum) {
    return row_q45_k(1, row, n, q, xs, xsum);
}

AVX2 static float row_q6_k(const uint8_t *row, int64_t superBlocks, const int8_t *q,
                           const float *xs, const int32_t *xsum) {
    (void)xsum;
    __m256 acc = _mm256_setzero_ps();
    const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(3);
    for (int64_t b = 0; b < superBlocks; b++) {
        const uint8_t *block = row + 210 * b;
        float d = half(block + 208);
        const int8_t *scales = (const int8_t *)(block + 192);
        for (int h = 0; h < 2; h++) {
            __m256i ql0 = _mm256_loadu_si256((const __m256i *)(block + 64 * h));
            __m256i ql1 = _mm256_loadu_si256((const __m256i *)(block + 64 * h + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(block + 128 + 32 * h));
            for (int k = 0; k < 4; k++) {
                __m256i low = (k & 1) ? ql1 : ql0;
                if (k >> 1) low = _mm256_srli_epi16(low, 4);
                low = _mm256_and_si256(low, low4);
                __m256i high = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), two);
                __m256i w = _mm256_or_si256(low, _mm256_slli_epi16(high, 4));
                w = _mm256_sub_epi8(w, _mm256_set1_epi8(32));
                int64_t a = 8 * b + 4 * h + k;
                int e = (128 * h + 32 * k) / 16;
                // Lanes 0-3 hold elements 0…15 (scale e), lanes 4-7 elements 16…31 (e + 1).
                float base = d * xs[a];
                __m256 scale = _mm256_set_m128(_mm_set1_ps(base * (float)scales[e + 1]),
                                               _mm_set1_ps(base * (float)scales[e]));
                __m256 s = _mm256_cvtepi32_ps(dot_bytes(w, load_x(q + 32 * a)));
                acc = _mm256_fmadd_ps(scale, s, acc);
            }
        }
    }
    return horizontal_sum(acc);
}

locus_row_kernel locus_avx2_kernel(int type) {
    switch (type) {
    case LOCUS_Q8_0: return row_q8_0;
    case LOCUS_Q4_0: return row_q4_0;
    case LOCUS_Q4_1: return row_q4_1;
    case LOCUS_Q5_0: return row_q5_0;
    case LOCUS_Q4_K: return row_q4_k;
    case LOCUS_Q5_K: return row_q5_k;
    case LOCUS_Q6_K: return row_q6_k;
    default: return 0;
    }
}

#else

locus_row_kernel locus_avx2_kernel(int type) {
    (void)type;
    return 0;
}

#endif
