// x86-64 int8 GEMM (gemm_q8_body.h; Q8_0, Q4_0, Q4_1, Q5_0, Q4_K, Q6_K) compiled three times, function by function (no global
// -march), each called only after `__builtin_cpu_supports` said yes (dispatch.c):
// - AVX-512 VNNI (F, BW, VL, VNNI; e.g. AMD Zen 4/5, Intel Ice Lake and later servers): 512-bit
//   registers, two 32-element blocks per vpdpbusd, tiles of 4 weight rows × 4 activation rows
//   (16 of the 32 zmm registers accumulate);
// - AVX-VNNI (VEX vpdpbusd on 256-bit registers): one block per step, tiles of 2 × 2 (16 ymm;
//   2 × 3, 3 × 2, 4 × 1 and 1 × 4 measured slower with scripts/bench/int8_kernel_bench.c);
// - plain AVX2 (vpmaddubsw + vpmaddwd): the nibble types only (Q8_0's unsigned bytes would
//   saturate vpmaddubsw's int16 sums; Q8_0 keeps its row kernel there).
// The three give the same integer block sums; only the float summation order differs (two blocks
// per lane vector on 512 bits).
#include "kernels_internal.h"
#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>

// ---- AVX-512 VNNI, 512-bit ----------------------------------------------------------------------
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)

/// Lanes 0–7 = two[0] (block b), lanes 8–15 = two[1] (block b + 1).
static inline __m512 g512_spread(__m128 two) {
    const __m512i index = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    return _mm512_permutexvar_ps(index, _mm512_castps128_ps512(two));
}

/// Lane 0 = two[0], lane 8 = two[1], the rest 0: a per-block value that the block's lanes sum once.
static inline __m512i g512_first_lanes(__m128i two) {
    const __m512i index = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_maskz_permutexvar_epi32(0x0101, index, _mm512_castsi128_si512(two));
}

static inline __m512i g512_corr(const int32_t *sum, int bias) {
    return _mm512_mullo_epi32(g512_first_lanes(_mm_loadl_epi64((const __m128i *)sum)),
                              _mm512_set1_epi32(-bias));
}

/// Two Q8_0 blocks' 32 signed bytes each → 64 unsigned bytes w + 128.
static inline __m512i g512_unpack_q8(const uint8_t *p0, const uint8_t *p1) {
    const __m512i w = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p0)),
                                         _mm256_loadu_si256((const __m256i *)p1), 1);
    return _mm512_xor_si512(w, _mm512_set1_epi8((char)0x80));
}

/// Two blocks' 16 packed bytes each → 64 nibbles in element order (block 0's 32, then block 1's).
static inline __m512i g512_unpack_nibbles(const uint8_t *p0, const uint8_t *p1) {
    const __m256i v = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)p1), _mm_loadu_si128((const __m128i *)p0));
    __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srli_epi16(v, 4), 1);  // lo0 lo1 hi0 hi1
    z = _mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(3, 1, 2, 0));                                // lo0 hi0 lo1 hi1
    return _mm512_and_si512(z, _mm512_set1_epi8(0x0F));
}

/// Two Q5_0 blocks (22 bytes: f16 d, u32 qh, 16 nibble bytes) → 64 unsigned 5-bit values in
/// element order: the nibbles, plus 16 where bit k of the block's qh is set (element k).
static inline __m512i g512_unpack_q5(const uint8_t *p0, const uint8_t *p1) {
    const __mmask64 fifth = (__mmask64)load_u32(p0 + 2) | ((__mmask64)load_u32(p1 + 2) << 32);
    return _mm512_or_si512(g512_unpack_nibbles(p0 + 6, p1 + 6), _mm512_maskz_mov_epi8(fifth, _mm512_set1_epi8(16)));
}

/// Q4_K: the 32 bytes of a nibble pair → sub-block 2p's 32 values (low nibbles), then 2p + 1's.
static inline __m512i g512_unpack_k4(const uint8_t *p) {
    const __m256i v = _mm256_loadu_si256((const __m256i *)p), low4 = _mm256_set1_epi8(0x0F);
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(v, low4)),
                              _mm256_and_si256(_mm256_srli_epi16(v, 4), low4), 1);
}

/// Q6_K (210 bytes: ql[128], qh[64], int8 scales[16], f16 d): sub-blocks a, a + 1 (a even; a = 4h + k
/// covers elements 32k…32k+31 of half h) as 64 unsigned 6-bit values.
static inline __m512i g512_unpack_q6(const uint8_t *super, int a) {
    const int h = a / 4, k = a % 4;  // k is 0 or 2
    const __m256i low4 = _mm256_set1_epi8(0x0F), three = _mm256_set1_epi8(3);
    const __m128i shift = _mm_cvtsi32_si128(4 * (k >> 1));
    const __m256i l0 = _mm256_and_si256(_mm256_srl_epi16(_mm256_loadu_si256((const __m256i *)(super + 64 * h)), shift), low4);
    const __m256i l1 = _mm256_and_si256(_mm256_srl_epi16(_mm256_loadu_si256((const __m256i *)(super + 64 * h + 32)), shift), low4);
    const __m256i qh = _mm256_loadu_si256((const __m256i *)(super + 128 + 32 * h));
    const __m256i h0 = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * k)), three);
    const __m256i h1 = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * k + 2)), three);
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_or_si256(l0, _mm256_slli_epi16(h0, 4))),
                              _mm256_or_si256(l1, _mm256_slli_epi16(h1, 4)), 1);
}

/// Four floats p[0…3] (d·sc_e of the 16-element groups of two blocks), each on four lanes.
static inline __m512 g512_group_scales(const float *p) {
    const __m512i index = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    return _mm512_permutexvar_ps(index, _mm512_castps128_ps512(_mm_loadu_ps(p)));
}

/// −32 × each int32 lane's sum of its four activation bytes.
static inline __m512i g512_lane_corr32(__m512i x) {
    return _mm512_sub_epi32(_mm512_setzero_si512(),
                            _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(32), x));
}

#define G_NAME(name) g_##name##_avx512
#define G_BLOCKS 2
#define G_RM 4
#define G_RN 4
#define GV_I __m512i
#define GV_F __m512
#define G_ZERO_F _mm512_setzero_ps()
#define G_ZERO_I _mm512_setzero_si512()
#define G_DOT(acc, u, s) _mm512_dpbusd_epi32((acc), (u), (s))
#define G_CVT(v) _mm512_cvtepi32_ps(v)
#define G_MUL(a, b) _mm512_mul_ps((a), (b))
#define G_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define G_HSUM(v) _mm512_reduce_add_ps(v)
#define G_LOAD_ACT(p) _mm512_loadu_si512((const void *)(p))
#define G_ACT_SCALES(p) g512_spread(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(p))))
#define G_HALF(p) _cvtsh_ss(load_u16(p))
#define G_CORR(p, bias) g512_corr((p), (bias))
#define G_FLOATS 16
#define G_LOADF(p) _mm512_loadu_ps(p)
#define G_UNPACK_Q8(p0, p1) g512_unpack_q8((p0), (p1))
#define G_UNPACK_NIBBLES(out, p0, p1) (out) = g512_unpack_nibbles((p0), (p1))
#define G_UNPACK_Q5(p0, p1) g512_unpack_q5((p0), (p1))
#define G_UNPACK_K4(out, p, sub) (out) = g512_unpack_k4(p)
#define G_UNPACK_Q6(super, a) g512_unpack_q6((super), (a))
#define G_GROUP_SCALES(p) g512_group_scales(p)
#define G_LANE_CORR32(x) g512_lane_corr32(x)
#include "gemm_q8_body.h"
#undef G_NAME
#undef G_BLOCKS
#undef G_RM
#undef G_RN
#undef GV_I
#undef GV_F
#undef G_ZERO_F
#undef G_ZERO_I
#undef G_DOT
#undef G_CVT
#undef G_MUL
#undef G_FMA
#undef G_HSUM
#undef G_LOAD_ACT
#undef G_ACT_SCALES
#undef G_HALF
#undef G_CORR
#undef G_FLOATS
#undef G_LOADF
#undef G_UNPACK_Q8
#undef G_UNPACK_NIBBLES
#undef G_UNPACK_Q5
#undef G_UNPACK_K4
#undef G_UNPACK_Q6
#undef G_GROUP_SCALES
#undef G_LANE_CORR32
#pragma clang attribute pop

// ---- 256-bit primitives shared by the AVX-VNNI and AVX2 builds ----------------------------------
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

static inline float g256_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __m256i g256_nibbles(const uint8_t *p) {
    const __m128i v = _mm_loadu_si128((const __m128i *)p);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(0x0F));
}

/// A Q5_0 block (f16 d, u32 qh, 16 nibble bytes) as 32 unsigned 5-bit values: byte k of the
/// fifth-bit vector is 16 when bit k of qh is set (spread by a byte shuffle, tested bit by bit).
static inline __m256i g256_unpack_q5(const uint8_t *p) {
    const __m256i spread = _mm256_setr_epi8(
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
        2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i select = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)load_u32(p + 2)), spread);
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(v, select), select);
    return _mm256_or_si256(g256_nibbles(p + 6), _mm256_and_si256(set, _mm256_set1_epi8(16)));
}

/// Q4_K sub-block `sub`'s 32 nibbles from its pair's 32 bytes (low nibbles for even sub).
static inline __m256i g256_unpack_k4(const uint8_t *p, int sub) {
    __m256i v = _mm256_loadu_si256((const __m256i *)p);
    if (sub & 1) v = _mm256_srli_epi16(v, 4);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

/// Q6_K sub-block a (= 4h + k) as 32 unsigned 6-bit values.
static inline __m256i g256_unpack_q6(const uint8_t *super, int a) {
    const int h = a / 4, k = a % 4;
    __m256i low = _mm256_loadu_si256((const __m256i *)(super + 64 * h + 32 * (k & 1)));
    low = _mm256_and_si256(_mm256_srl_epi16(low, _mm_cvtsi32_si128(4 * (k >> 1))), _mm256_set1_epi8(0x0F));
    const __m256i qh = _mm256_loadu_si256((const __m256i *)(super + 128 + 32 * h));
    const __m256i high = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * k)), _mm256_set1_epi8(3));
    return _mm256_or_si256(low, _mm256_slli_epi16(high, 4));
}

static inline __m256i g256_madd_dot(__m256i acc, __m256i u, __m256i s) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}

#pragma clang attribute pop

#define G_BLOCKS 1
#define G_RM 2
#define G_RN 2
#define GV_I __m256i
#define GV_F __m256
#define G_ZERO_F _mm256_setzero_ps()
#define G_ZERO_I _mm256_setzero_si256()
#define G_CVT(v) _mm256_cvtepi32_ps(v)
#define G_MUL(a, b) _mm256_mul_ps((a), (b))
#define G_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define G_HSUM(v) g256_hsum(v)
#define G_LOAD_ACT(p) _mm256_loadu_si256((const __m256i *)(p))
#define G_ACT_SCALES(p) _mm256_broadcast_ss(p)
#define G_HALF(p) _cvtsh_ss(load_u16(p))
#define G_CORR(p, bias) _mm256_zextsi128_si256(_mm_cvtsi32_si128(-(bias) * (p)[0]))
#define G_FLOATS 8
#define G_LOADF(p) _mm256_loadu_ps(p)
#define G_UNPACK_Q8(p0, p1) _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p0)), _mm256_set1_epi8((char)0x80))
#define G_UNPACK_NIBBLES(out, p0, p1) (out) = g256_nibbles(p0)
#define G_UNPACK_Q5(p0, p1) g256_unpack_q5(p0)
#define G_UNPACK_K4(out, p, sub) (out) = g256_unpack_k4((p), (sub))
#define G_UNPACK_Q6(super, a) g256_unpack_q6((super), (a))
#define G_GROUP_SCALES(p) _mm256_setr_m128(_mm_set1_ps((p)[0]), _mm_set1_ps((p)[1]))
#define G_LANE_CORR32(x) _mm256_sub_epi32(_mm256_setzero_si256(), G_DOT(_mm256_setzero_si256(), _mm256_set1_epi8(32), (x)))

// ---- AVX-VNNI, 256-bit ------------------------------------------------------------------------
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avxvnni"))), apply_to = function)
#define G_NAME(name) g_##name##_vnni
#define G_DOT(acc, u, s) _mm256_dpbusd_avx_epi32((acc), (u), (s))
#include "gemm_q8_body.h"
#undef G_NAME
#undef G_DOT
#pragma clang attribute pop

// ---- plain AVX2, 256-bit (nibble types) -------------------------------------------------------
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#define G_NAME(name) g_##name##_avx2
#define G_DOT(acc, u, s) g256_madd_dot((acc), (u), (s))
#include "gemm_q8_body.h"
#undef G_NAME
#undef G_DOT
#pragma clang attribute pop

locus_gemm_kernel locus_avx512_gemm(int type) {
    switch (type) {
    case LOCUS_Q8_0: return g_gemm_q8_0_avx512;
    case LOCUS_Q4_0: return g_gemm_q4_0_avx512;
    case LOCUS_Q4_1: return g_gemm_q4_1_avx512;
    case LOCUS_Q5_0: return g_gemm_q5_0_avx512;
    case LOCUS_Q4_K: return g_gemm_q4_k_avx512;
    case LOCUS_Q6_K: return g_gemm_q6_k_avx512;
    default: return 0;
    }
}

locus_gemm_kernel locus_vnni_gemm(int type) {
    switch (type) {
    case LOCUS_Q8_0: return g_gemm_q8_0_vnni;
    case LOCUS_Q4_0: return g_gemm_q4_0_vnni;
    case LOCUS_Q4_1: return g_gemm_q4_1_vnni;
    case LOCUS_Q5_0: return g_gemm_q5_0_vnni;
    case LOCUS_Q4_K: return g_gemm_q4_k_vnni;
    case LOCUS_Q6_K: return g_gemm_q6_k_vnni;
    default: return 0;
    }
}

locus_gemm_kernel locus_avx2_gemm(int type) {
    switch (type) {
    case LOCUS_Q4_0: return g_gemm_q4_0_avx2;
    case LOCUS_Q4_1: return g_gemm_q4_1_avx2;
    case LOCUS_Q5_0: return g_gemm_q5_0_avx2;
    case LOCUS_Q4_K: return g_gemm_q4_k_avx2;
    case LOCUS_Q6_K: return g_gemm_q6_k_avx2;
    default: return 0;  // Q8_0: vpmaddubsw would saturate (see above)
    }
}

#else

locus_gemm_kernel locus_avx512_gemm(int type) { (void)type; return 0; }
locus_gemm_kernel locus_vnni_gemm(int type) { (void)type; return 0; }
locus_gemm_kernel locus_avx2_gemm(int type) { (void)type; return 0; }

#endif
