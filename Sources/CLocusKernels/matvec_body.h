// The x86 matrix-vector row kernels, written once and compiled twice by matvec_avx2.c: for AVX2 +
// FMA + F16C (MV_DOT = vpmaddubsw + vpmaddwd) and for AVX-VNNI (MV_DOT = vpdpbusd, the same
// u8 × s8 → i32 sums of four in one instruction). The including file defines MV_NAME(name) (a
// suffix per path) and MV_DOT(acc, u, s): acc + eight int32 lanes, lane i = Σ_{j=4i}^{4i+3}
// u[j]·s[j] with u unsigned bytes and s signed bytes. Both forms are exact for |u| ≤ 128 and
// |s| ≤ 127 (vpmaddubsw's int16 pair sums stay ≤ 2·128·127 = 32,512 < 2^15), which every call
// below keeps: the activation bytes are clamped to ±127 (locus_quantize_activation).
//
// Formats carry over from ggml (ggml-common.h, as documented in dequant_body.h); the code is
// Locus's own. What the kernels compute per 32-element block b of a row, with x̂ = xs_b · q the
// 8-bit activation (q signed, Σq = xsum_b):
//   Q8_0  d·xs_b·Σ w·q                        (signed × signed: |w| and sign(q, w))
//   Q4_0  d·xs_b·(Σ u·q − 8·xsum_b)            (u the unsigned nibble, no sign trick)
//   Q4_1  d·xs_b·Σ u·q + m·xs_b·xsum_b
//   Q5_0  d·xs_b·(Σ u·q − 16·xsum_b)           (u the unsigned 5-bit value)
//   Q5_1  d·xs_b·Σ u·q + m·xs_b·xsum_b
//   Q4_K/Q5_K sub-block s: (d·sc_s)·xs·Σ u·q − (dmin·m_s)·xs·xsum (scales unpacked once per super-block)
//   Q6_K  16-element halves: (d·sc_e)·xs·Σ (u − 32)·q (signed × signed)
// Integer dot products are exact (and so is the int32 offset of Q4_0/Q5_0); the 32-element types
// then take one float FMA per eight blocks (MV_BLOCK32_KERNEL), the K-quants one or two per
// super-block of eight. The naive twin in the tests bounds the float rounding.

/// Eight int32 lanes of w·x for two signed byte vectors (|w| ≤ 128, |x| ≤ 127).
static inline __m256i MV_NAME(dot_signed)(__m256i w, __m256i x) {
    return MV_DOT(_mm256_setzero_si256(), _mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}

/// Eight int32 lanes of u·x for unsigned bytes u (≤ 128) and signed bytes x.
static inline __m256i MV_NAME(dot_unsigned)(__m256i u, __m256i x) {
    return MV_DOT(_mm256_setzero_si256(), u, x);
}

static inline float MV_NAME(half)(const uint8_t *p) { return _cvtsh_ss(load_u16(p)); }

static inline float MV_NAME(hsum)(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// 16 packed bytes → 32 unsigned nibbles: low nibbles in bytes 0…15, high nibbles in 16…31.
static inline __m256i MV_NAME(nibbles)(const uint8_t *p) {
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    __m256i both = _mm256_set_m128i(_mm_srli_epi16(v, 4), v);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

/// The 32 bits of `bits` as bytes: byte j is 16 when bit j is set, else 0.
static inline __m256i MV_NAME(fifth_bits)(uint32_t bits) {
    const __m256i spread = _mm256_setr_epi8(
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
        2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i select = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), spread);
    __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(v, select), select);
    return _mm256_and_si256(set, _mm256_set1_epi8(16));
}

static inline __m256i MV_NAME(load)(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/// Lane k of the result = Σ of the eight lanes of p[k] (k = 0…7).
static inline __m256i MV_NAME(reduce8)(const __m256i p[8]) {
    __m256i s01 = _mm256_hadd_epi32(p[0], p[1]), s23 = _mm256_hadd_epi32(p[2], p[3]);
    __m256i s45 = _mm256_hadd_epi32(p[4], p[5]), s67 = _mm256_hadd_epi32(p[6], p[7]);
    __m256i s0123 = _mm256_hadd_epi32(s01, s23), s4567 = _mm256_hadd_epi32(s45, s67);
    // s0123 = [Σ lanes 0-3 of p0…p3 | Σ lanes 4-7 of p0…p3]; likewise s4567.
    return _mm256_add_epi32(_mm256_permute2x128_si256(s0123, s4567, 0x20),
                            _mm256_permute2x128_si256(s0123, s4567, 0x31));
}

/// The low (shift 0) or high (shift 16) f16 of each of eight int32 lanes, as floats.
static inline __m256 MV_NAME(halves)(__m256i g, int high) {
    __m256i h = high ? _mm256_srli_epi32(g, 16) : _mm256_and_si256(g, _mm256_set1_epi32(0xFFFF));
    __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(h, h), 0x08);
    return _mm256_cvtph_ps(_mm256_castsi256_si128(packed));
}

/// Row kernel for the 32-element block types, eight blocks at a time: the eight blocks' integer
/// dot products are reduced to one int32 per block (reduce8), the integer offset −(BIAS)·xsum of
/// the symmetric unsigned forms is subtracted exactly in int32, and one FMA with the vector of
/// the eight d·xs (the blocks' f16 scales fetched by one gather of their first four bytes)
/// accumulates them; the types with a min (HAS_MIN) add m·xs·xsum with a second FMA. The last
/// blocks (< 8) go one at a time. STRIDE bytes per block; UNPACK(w) reads block `blk`'s weight
/// bytes; SIGNED picks the sign-trick dot; BIAS (0, 8 or 16) is subtracted from the unsigned
/// weights; MIN_OFFSET the byte offset of m (HAS_MIN).
#define MV_BLOCK32_KERNEL(name, STRIDE, SIGNED, UNPACK, BIAS, HAS_MIN)                             \
    static float MV_NAME(name)(const uint8_t *row, int64_t blocks, const int8_t *q,              \
                               const float *xs, const int32_t *xsum) {                           \
        __m256 acc = _mm256_setzero_ps(), accMin = _mm256_setzero_ps();                          \
        const __m256i offsets8 = _mm256_setr_epi32(0, (STRIDE), 2 * (STRIDE), 3 * (STRIDE),      \
            4 * (STRIDE), 5 * (STRIDE), 6 * (STRIDE), 7 * (STRIDE));                              \
        int64_t b = 0;                                                                            \
        for (; b + 8 <= blocks; b += 8) {                                                         \
            const uint8_t *group = row + (STRIDE) * b;                                            \
            __m256i p[8];                                                                         \
            for (int k = 0; k < 8; k++) {                                                         \
                const uint8_t *blk = group + (STRIDE) * k;                                        \
                __m256i w;                                                                        \
                UNPACK(w);                                                                        \
                __m256i x = MV_NAME(load)(q + 32 * (b + k));                                      \
                p[k] = SIGNED ? MV_NAME(dot_signed)(w, x) : MV_NAME(dot_unsigned)(w, x);          \
            }                                                                                     \
            __m256i totals = MV_NAME(reduce8)(p);                                                 \
            const __m256i sums = _mm256_loadu_si256((const __m256i *)(xsum + b));               \
            if ((BIAS) == 8) totals = _mm256_sub_epi32(totals, _mm256_slli_epi32(sums, 3));      \
            if ((BIAS) == 16) totals = _mm256_sub_epi32(totals, _mm256_slli_epi32(sums, 4));     \
            const __m256i heads = _mm256_i32gather_epi32((const int *)group, offsets8, 1);       \
            const __m256 scales = _mm256_loadu_ps(xs + b);                                        \
            acc = _mm256_fmadd_ps(_mm256_mul_ps(MV_NAME(halves)(heads, 0), scales),              \
                                  _mm256_cvtepi32_ps(totals), acc);                               \
            if (HAS_MIN)                                                                          \
                accMin = _mm256_fmadd_ps(_mm256_mul_ps(MV_NAME(halves)(heads, 1), scales),       \
                                         _mm256_cvtepi32_ps(sums), accMin);                       \
        }                                                                                         \
        float tail = 0;                                                                           \
        for (; b < blocks; b++) {                                                                 \
            const uint8_t *blk = row + (STRIDE) * b;                                              \
            __m256i w;                                                                            \
            UNPACK(w);                                                                            \
            __m256i x = MV_NAME(load)(q + 32 * b);                                                \
            __m256i p = SIGNED ? MV_NAME(dot_signed)(w, x) : MV_NAME(dot_unsigned)(w, x);         \
            __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1)); \
            s4 = _mm_hadd_epi32(s4, s4);                                                          \
            s4 = _mm_hadd_epi32(s4, s4);                                                          \
            int32_t total = _mm_cvtsi128_si32(s4) - (BIAS) * xsum[b];                            \
            tail += MV_NAME(half)(blk) * xs[b] * (float)total;                                    \
            if (HAS_MIN) tail += MV_NAME(half)(blk + 2) * xs[b] * (float)xsum[b];                 \
        }                                                                                         \
        return MV_NAME(hsum)(_mm256_add_ps(acc, accMin)) + tail;                                  \
    }

// Q8_0 (34 bytes): f16 d; int8 qs[32].
#define MV_UNPACK_Q8_0(w) w = MV_NAME(load)(blk + 2)
MV_BLOCK32_KERNEL(q8_0, 34, 1, MV_UNPACK_Q8_0, 0, 0)

// Q4_0 (18 bytes): f16 d; u8 qs[16]; value d·(u − 8).
#define MV_UNPACK_Q4_0(w) w = MV_NAME(nibbles)(blk + 2)
MV_BLOCK32_KERNEL(q4_0, 18, 0, MV_UNPACK_Q4_0, 8, 0)

// Q4_1 (20 bytes): f16 d; f16 m; u8 qs[16]; value d·u + m.
#define MV_UNPACK_Q4_1(w) w = MV_NAME(nibbles)(blk + 4)
MV_BLOCK32_KERNEL(q4_1, 20, 0, MV_UNPACK_Q4_1, 0, 1)

// Q5_0 (22 bytes): f16 d; u8 qh[4]; u8 qs[16]; value d·(u − 16), u = nibble | fifth bit.
#define MV_UNPACK_Q5_0(w) w = _mm256_or_si256(MV_NAME(nibbles)(blk + 6), MV_NAME(fifth_bits)(load_u32(blk + 2)))
MV_BLOCK32_KERNEL(q5_0, 22, 0, MV_UNPACK_Q5_0, 16, 0)

// Q5_1 (24 bytes): f16 d; f16 m; u8 qh[4]; u8 qs[16]; value d·u + m.
#define MV_UNPACK_Q5_1(w) w = _mm256_or_si256(MV_NAME(nibbles)(blk + 8), MV_NAME(fifth_bits)(load_u32(blk + 4)))
MV_BLOCK32_KERNEL(q5_1, 24, 0, MV_UNPACK_Q5_1, 0, 1)

/// Q4_K (five = 0, 144 bytes) and Q5_K (five = 1, 176 bytes): per super-block the eight
/// sub-blocks' integer dots Σ u·q are reduced to one int32 each (reduce8); the eight 6-bit scales
/// and mins are unpacked once, and two FMAs add (d·sc_s·xs_s)·Σ u·q and (dmin·m_s·xs_s)·xsum_s
/// over the eight sub-blocks s (activation blocks 8b + s) at once; the mins are subtracted at the end.
static inline float MV_NAME(q45_k)(int five, const uint8_t *row, int64_t superBlocks,
                                   const int8_t *q, const float *xs, const int32_t *xsum) {
    __m256 acc = _mm256_setzero_ps(), accMin = _mm256_setzero_ps();
    const size_t stride = five ? 176 : 144;
    const __m256i low4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    for (int64_t b = 0; b < superBlocks; b++) {
        const uint8_t *block = row + stride * b;
        uint8_t sc[8], m[8];
        for (int j = 0; j < 8; j++) locus_scale_min_k4(block + 4, j, &sc[j], &m[j]);
        const uint8_t *qs = block + (five ? 48 : 16);
        const __m256i qh = five ? MV_NAME(load)(block + 16) : _mm256_setzero_si256();
        const int8_t *xq = q + 256 * b;
        __m256i p[8];
        for (int pair = 0; pair < 4; pair++) {
            __m256i bytes = MV_NAME(load)(qs + 32 * pair);
            __m256i u0 = _mm256_and_si256(bytes, low4);
            __m256i u1 = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4);
            if (five) {
                // Bit s of each qh byte → bit 4 (srli_epi16 then & 1 keeps the byte's own bit).
                u0 = _mm256_or_si256(u0, _mm256_slli_epi16(
                    _mm256_and_si256(_mm256_srli_epi16(qh, 2 * pair), one), 4));
                u1 = _mm256_or_si256(u1, _mm256_slli_epi16(
                    _mm256_and_si256(_mm256_srli_epi16(qh, 2 * pair + 1), one), 4));
            }
            p[2 * pair] = MV_NAME(dot_unsigned)(u0, MV_NAME(load)(xq + 64 * pair));
            p[2 * pair + 1] = MV_NAME(dot_unsigned)(u1, MV_NAME(load)(xq + 64 * pair + 32));
        }
        const __m256i totals = MV_NAME(reduce8)(p);
        const __m256 xs8 = _mm256_loadu_ps(xs + 8 * b);
        const __m256 sums = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(xsum + 8 * b)));
        const __m256 scf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)sc)));
        const __m256 mf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)m)));
        const __m256 d = _mm256_set1_ps(MV_NAME(half)(block)), dmin = _mm256_set1_ps(MV_NAME(half)(block + 2));
        acc = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_mul_ps(d, scf), xs8), _mm256_cvtepi32_ps(totals), acc);
        accMin = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_mul_ps(dmin, mf), xs8), sums, accMin);
    }
    return MV_NAME(hsum)(_mm256_sub_ps(acc, accMin));
}

static float MV_NAME(q4_k)(const uint8_t *row, int64_t n, const int8_t *q, const float *xs,
                           const int32_t *xsum) {
    return MV_NAME(q45_k)(0, row, n, q, xs, xsum);
}

static float MV_NAME(q5_k)(const uint8_t *row, int64_t n, const int8_t *q, const float *xs,
                           const int32_t *xsum) {
    return MV_NAME(q45_k)(1, row, n, q, xs, xsum);
}

/// Q6_K (210 bytes): u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d. Activation block a = 4h + k of
/// the super-block covers elements 32k…32k+31 of half h; its dot lanes 0–3 are elements 0…15
/// (scale e = 8h + 2k), lanes 4–7 elements 16…31 (scale e + 1). The lanes are multiplied by their
/// int scale in int32 (exact: |Σ| ≤ 16·32·127·128 < 2^24), reduced to one int32 per activation
/// block (reduce8), and one FMA adds d·xs_a times them for the eight blocks.
static float MV_NAME(q6_k)(const uint8_t *row, int64_t superBlocks, const int8_t *q,
                           const float *xs, const int32_t *xsum) {
    (void)xsum;
    __m256 acc = _mm256_setzero_ps();
    const __m256i low4 = _mm256_set1_epi8(0x0F), three = _mm256_set1_epi8(3);
    const __m256i bias = _mm256_set1_epi8(32);
    for (int64_t b = 0; b < superBlocks; b++) {
        const uint8_t *block = row + 210 * b;
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)(block + 192));
        const __m256i sc0 = _mm256_cvtepi8_epi32(sc8);                    // scales 0…7
        const __m256i sc1 = _mm256_cvtepi8_epi32(_mm_srli_si128(sc8, 8)); // scales 8…15
        const int8_t *xq = q + 256 * b;
        __m256i p[8];
        for (int h = 0; h < 2; h++) {
            const __m256i ql0 = MV_NAME(load)(block + 64 * h);
            const __m256i ql1 = MV_NAME(load)(block + 64 * h + 32);
            const __m256i qh = MV_NAME(load)(block + 128 + 32 * h);
            const __m256i sch = h ? sc1 : sc0;
            for (int k = 0; k < 4; k++) {
                __m256i low = (k & 1) ? ql1 : ql0;
                if (k >> 1) low = _mm256_srli_epi16(low, 4);
                low = _mm256_and_si256(low, low4);
                __m256i high = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), three);
                __m256i w = _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(high, 4)), bias);
                const int a = 4 * h + k;
                __m256i dot = MV_NAME(dot_signed)(w, MV_NAME(load)(xq + 32 * a));
                const __m256i pick = _mm256_setr_epi32(2 * k, 2 * k, 2 * k, 2 * k,
                                                       2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1);
                p[a] = _mm256_mullo_epi32(dot, _mm256_permutevar8x32_epi32(sch, pick));
            }
        }
        const __m256i totals = MV_NAME(reduce8)(p);
        const __m256 scale = _mm256_mul_ps(_mm256_set1_ps(MV_NAME(half)(block + 208)), _mm256_loadu_ps(xs + 8 * b));
        acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(totals), acc);
    }
    return MV_NAME(hsum)(acc);
}

/// The row kernel for ggml type `type`, or NULL.
static locus_row_kernel MV_NAME(table)(int type) {
    switch (type) {
    case LOCUS_Q8_0: return MV_NAME(q8_0);
    case LOCUS_Q4_0: return MV_NAME(q4_0);
    case LOCUS_Q4_1: return MV_NAME(q4_1);
    case LOCUS_Q5_0: return MV_NAME(q5_0);
    case LOCUS_Q5_1: return MV_NAME(q5_1);
    case LOCUS_Q4_K: return MV_NAME(q4_k);
    case LOCUS_Q5_K: return MV_NAME(q5_k);
    case LOCUS_Q6_K: return MV_NAME(q6_k);
    default: return 0;
    }
}

#undef MV_UNPACK_Q8_0
#undef MV_UNPACK_Q4_0
#undef MV_UNPACK_Q4_1
#undef MV_UNPACK_Q5_0
#undef MV_UNPACK_Q5_1
#undef MV_BLOCK32_KERNEL
