// x86-64 AVX-512 (F/BW/VL/VNNI) matrix-vector row kernels for the two k-quants of a Q4_K_M file
// (Q4_K, Q6_K): the decode product of most published 7B GGUFs. They compute bit for bit what the
// AVX-VNNI kernels of matvec_body.h compute, faster: one 512-bit vpdpbusd covers two 32-element
// blocks, the 6-bit scales are unpacked with byte shuffles instead of a scalar loop, and the eight
// blocks' int32 dot products of a super-block are reduced by shuffles of 128-bit lanes (reduce8)
// instead of eight 256-bit horizontal adds. Integer sums are exact whatever their order, so the
// per-block totals equal matvec_body.h's, and the float work after them (one FMA per super-block
// with the vector of eight block scales, the same horizontal sum at the end of the row) is the same
// code: decode numerics do not depend on whether the CPU has AVX-512 (WeightMatrixTests checks
// equality with the AVX-VNNI path; a near tie in Gemma-3's greedy decode flipped when an earlier
// version scaled each int32 lane in float instead). Called only when dispatch.c found AVX-512
// F/BW/VL/VNNI (AMD Zen 4/5, Intel Ice Lake and later).
#include "kernels_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)

static inline float mv512_half(const uint8_t *p) { return _cvtsh_ss(load_u16(p)); }

/// As matvec_body.h's hsum: the eight lanes summed in the same order.
static inline float mv512_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// Eight int32 totals T_0…T_7 from four vectors p_k whose lanes 0–7 sum to T_2k and lanes 8–15 to
/// T_2k+1 (exact: int32 adds). With p_k = [A_k B_k C_k D_k] in 128-bit lanes: u01 = [A0+B0,
/// C0+D0, A1+B1, C1+D1] holds T_0…T_3 as four partial sums per 128-bit lane, u23 T_4…T_7; then
/// per 128-bit lane L a transpose-add leaves [T_L, T_L, T_{4+L}, T_{4+L}], and one permutation
/// gathers T_0…T_7.
static inline __m256i mv512_reduce8(__m512i p0, __m512i p1, __m512i p2, __m512i p3) {
    const __m512i u01 = _mm512_add_epi32(_mm512_shuffle_i32x4(p0, p1, _MM_SHUFFLE(2, 0, 2, 0)),
                                         _mm512_shuffle_i32x4(p0, p1, _MM_SHUFFLE(3, 1, 3, 1)));
    const __m512i u23 = _mm512_add_epi32(_mm512_shuffle_i32x4(p2, p3, _MM_SHUFFLE(2, 0, 2, 0)),
                                         _mm512_shuffle_i32x4(p2, p3, _MM_SHUFFLE(3, 1, 3, 1)));
    const __m512i w = _mm512_add_epi32(_mm512_unpacklo_epi64(u01, u23), _mm512_unpackhi_epi64(u01, u23));
    const __m512i z = _mm512_add_epi32(w, _mm512_shuffle_epi32(w, _MM_PERM_CDAB));
    const __m512i gather = _mm512_setr_epi32(0, 4, 8, 12, 2, 6, 10, 14, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_castsi512_si256(_mm512_permutexvar_epi32(gather, z));
}

/// Q4_K (144 bytes: f16 d, f16 dmin, 12 bytes of 6-bit scales and mins, u8 qs[128]). Sub-block
/// s = 2k (low nibbles of qs[32k…32k+31]) and s = 2k + 1 (their high nibbles) meet the activation
/// bytes q[64k…64k+63] in one 512-bit vpdpbusd (the 32 qs bytes broadcast to both halves, the upper
/// half shifted right by 4). Per super-block, as matvec_body.h:
///   Σ_s (d·sc_s·xs_s)·Σ_{c∈s} u_c·q_c − Σ_s (dmin·m_s·xs_s)·xsum_s.
static float mv512_q4_k(const uint8_t *row, int64_t superBlocks, const int8_t *q, const float *xs,
                        const int32_t *xsum) {
    __m256 acc = _mm256_setzero_ps(), accMin = _mm256_setzero_ps();
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    // The 6-bit scales and mins (ggml's get_scale_min_k4) of all eight sub-blocks at once, from the
    // bytes s_i = block[4 + i]: lane j < 4 is sc_j = s_j & 63, lane 4 + j is
    // sc_{j+4} = (s_{j+8} & 15) | (s_j >> 6) << 4, lane 8 + j is m_j = s_{j+4} & 63, lane 12 + j is
    // m_{j+4} = (s_{j+8} >> 4) | (s_{j+4} >> 6) << 4. `first` gathers the bytes whose low bits are
    // kept (s_{j+8} shifted down by 4 in lanes 12…15), `tops` the bytes whose top two bits move to
    // bits 4–5 (zero in lanes 0–3 and 8–11).
    const __m128i first = _mm_setr_epi8(4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m128i tops = _mm_setr_epi8(-1, -1, -1, -1, 4, 5, 6, 7, -1, -1, -1, -1, 8, 9, 10, 11);
    const __m128i keep = _mm_setr_epi8(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 15, 15, 15, 15);
    for (int64_t b = 0; b < superBlocks; b++) {
        const uint8_t *block = row + 144 * b;
        const __m128i raw = _mm_loadu_si128((const __m128i *)block);  // d, dmin, s_0…s_11
        const __m128i a = _mm_shuffle_epi8(raw, first);
        const __m128i low = _mm_and_si128(_mm_mask_blend_epi8((__mmask16)0xF000, a, _mm_srli_epi16(a, 4)), keep);
        const __m128i bytes6 = _mm_or_si128(low, _mm_and_si128(_mm_srli_epi16(_mm_shuffle_epi8(raw, tops), 2),
                                                               _mm_set1_epi8(0x30)));
        const uint8_t *qs = block + 16;
        const int8_t *xq = q + 256 * b;
        __m512i p[4];
        for (int k = 0; k < 4; k++) {
            __m512i bytes = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(qs + 32 * k)));
            bytes = _mm512_mask_srli_epi16(bytes, (__mmask32)0xFFFF0000u, bytes, 4);
            p[k] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(bytes, low4),
                                       _mm512_loadu_si512(xq + 64 * k));
        }
        const __m256i totals = mv512_reduce8(p[0], p[1], p[2], p[3]);
        // From here the float operations of matvec_body.h's q45_k, in its order.
        const __m256 xs8 = _mm256_loadu_ps(xs + 8 * b);
        const __m256 sums = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(xsum + 8 * b)));
        const __m256 scf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes6));
        const __m256 mf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(bytes6, 8)));
        const __m256 d = _mm256_set1_ps(mv512_half(block)), dmin = _mm256_set1_ps(mv512_half(block + 2));
        acc = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_mul_ps(d, scf), xs8), _mm256_cvtepi32_ps(totals), acc);
        accMin = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_mul_ps(dmin, mf), xs8), sums, accMin);
    }
    return mv512_hsum(_mm256_sub_ps(acc, accMin));
}

/// Q6_K (210 bytes: u8 ql[128], u8 qh[64], i8 scales[16], f16 d). In half h, activation block
/// a = 4h + k covers elements 32k…32k+31 with u = (nibble of ql) | (2 bits of qh) << 4 and value
/// d·sc_e·(u − 32), e = 8h + 2k for its first 16 elements and e + 1 for the rest. One 512-bit step
/// covers k = 2j, 2j + 1 (j = 0: the low nibbles of ql[64h…64h+63], j = 1: their high nibbles;
/// qh[32h…] broadcast and shifted by 4j in the lower half, 4j + 2 in the upper). Per int32 lane
/// (four elements): Σ u·q − Σ 32·q (both by vpdpbusd, u and 32 unsigned bytes) = Σ (u − 32)·q,
/// times its int scale sc_{8h+4j+L/4} (exact: |Σ| < 2^24), then the lanes of each activation block
/// are reduced to one int32 and one FMA adds d·xs_a times them, as matvec_body.h does.
static float mv512_q6_k(const uint8_t *row, int64_t superBlocks, const int8_t *q, const float *xs,
                        const int32_t *xsum) {
    (void)xsum;
    __m256 acc = _mm256_setzero_ps();
    const __m512i low4 = _mm512_set1_epi8(0x0F), three = _mm512_set1_epi8(3);
    const __m512i thirtyTwo = _mm512_set1_epi8(32);
    const __m512i shift[2] = {
        _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1),
        _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(6), 1)};
    // group[2h + j]: the scale index e = 8h + 4j + L/4 of each lane L.
    __m512i group[4];
    for (int h = 0; h < 2; h++)
        for (int j = 0; j < 2; j++) {
            const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            group[2 * h + j] = _mm512_add_epi32(_mm512_set1_epi32(8 * h + 4 * j), _mm512_srli_epi32(lane, 2));
        }
    for (int64_t b = 0; b < superBlocks; b++) {
        const uint8_t *block = row + 210 * b;
        const __m512i scales = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(block + 192)));
        const int8_t *xq = q + 256 * b;
        __m512i p[4];
        for (int h = 0; h < 2; h++) {
            const __m512i ql = _mm512_loadu_si512(block + 64 * h);
            const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(block + 128 + 32 * h)));
            for (int j = 0; j < 2; j++) {
                const __m512i low = _mm512_and_si512(j ? _mm512_srli_epi16(ql, 4) : ql, low4);
                const __m512i high = _mm512_and_si512(_mm512_srlv_epi16(qh, shift[j]), three);
                const __m512i u = _mm512_or_si512(low, _mm512_slli_epi16(high, 4));
                const __m512i x = _mm512_loadu_si512(xq + 32 * (4 * h + 2 * j));
                const __m512i dot = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), u, x),
                                                     _mm512_dpbusd_epi32(_mm512_setzero_si512(), thirtyTwo, x));
                p[2 * h + j] = _mm512_mullo_epi32(dot, _mm512_permutexvar_epi32(group[2 * h + j], scales));
            }
        }
        const __m256i totals = mv512_reduce8(p[0], p[1], p[2], p[3]);
        const __m256 scale = _mm256_mul_ps(_mm256_set1_ps(mv512_half(block + 208)), _mm256_loadu_ps(xs + 8 * b));
        acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(totals), acc);
    }
    return mv512_hsum(acc);
}

#pragma clang attribute pop

locus_row_kernel locus_avx512_kernel(int type) {
    switch (type) {
    case LOCUS_Q4_K: return mv512_q4_k;
    case LOCUS_Q6_K: return mv512_q6_k;
    default: return 0;
    }
}

#else

locus_row_kernel locus_avx512_kernel(int type) {
    (void)type;
    return 0;
}

#endif
