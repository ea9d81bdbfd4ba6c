// The dequantisers' loop bodies, written once and compiled twice: by dequant_scalar.c for the
// portable path and by dequant_avx2.c inside `#pragma clang attribute push(target("avx2,fma,f16c"))`,
// where LLVM vectorises the same fixed-length loops to 8-wide AVX2 (vpmovzxbd, vcvtdq2ps, vmulps).
// The including file defines DQ_NAME(name) (a suffix per path) and DQ_HALF(p) (IEEE half → float
// at byte pointer p, exact either way) and turns floating-point contraction off, so every element
// is the float32 operations of gguf-py's `dequantize_blocks` in the same order (one multiply
// `d·q`, one separate add or subtract; never an FMA): the results are bit-identical on both paths
// and to `Dequantizer.naive` (Sources/LocusCheckpoint/Dequantizer+Naive.swift), which the tests
// check. Block layouts are ggml's (ggml-common.h), as documented in Dequantizer+*.swift.
//
// Each function decodes `n` elements (a whole number of blocks, checked by the caller).

/// bfloat16 is the top half of a float32: shift the bits into place.
static void DQ_NAME(bf16)(const uint8_t *src, float *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)load_u16(src + 2 * i) << 16;
        memcpy(dst + i, &bits, 4);
    }
}

/// Q8_0 (34 bytes): f16 d; int8 qs[32]; element j = d·qs[j].
static void DQ_NAME(q8_0)(const uint8_t *src, float *dst, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++) {
        const uint8_t *block = src + 34 * b;
        const float d = DQ_HALF(block);
        const int8_t *qs = (const int8_t *)(block + 2);
        float *o = dst + 32 * b;
        for (int j = 0; j < 32; j++) o[j] = d * (float)qs[j];
    }
}

/// Q4_0 (18 bytes): f16 d; u8 qs[16]; element j = d·((qs[j] & 0xF) − 8), j + 16: high nibble.
static void DQ_NAME(q4_0)(const uint8_t *src, float *dst, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++) {
        const uint8_t *block = src + 18 * b;
        const float d = DQ_HALF(block);
        const uint8_t *qs = block + 2;
        float *o = dst + 32 * b;
        for (int j = 0; j < 16; j++) {
            o[j] = d * (float)((int32_t)(qs[j] & 0x0F) - 8);
            o[j + 16] = d * (float)((int32_t)(qs[j] >> 4) - 8);
        }
    }
}

/// Q4_1 (20 bytes): f16 d; f16 m; u8 qs[16]; element j = d·(qs[j] & 0xF) + m, j + 16: high nibble.
static void DQ_NAME(q4_1)(const uint8_t *src, float *dst, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++) {
        const uint8_t *block = src + 20 * b;
        const float d = DQ_HALF(block), m = DQ_HALF(block + 2);
        const uint8_t *qs = block + 4;
        float *o = dst + 32 * b;
        for (int j = 0; j < 16; j++) {
            o[j] = d * (float)(qs[j] & 0x0F) + m;
            o[j + 16] = d * (float)(qs[j] >> 4) + m;
        }
    }
}

/// Q5_0 (22 bytes): f16 d; u8 qh[4]; u8 qs[16]; bit j of the little-endian qh is element j's
/// fifth bit; element = d·(q − 16).
static void DQ_NAME(q5_0)(const uint8_t *src, float *dst, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++) {
        const uint8_t *block = src + 22 * b;
        const float d = DQ_HALF(block);
        const uint32_t qh = load_u32(block + 2);
        const uint8_t *qs = block + 6;
        float *o = dst + 32 * b;
        for (int j = 0; j < 16; j++) {
            int32_t low = (int32_t)(qs[j] & 0x0F) | (int32_t)((qh >> j) & 1) << 4;
            int32_t high = (int32_t)(qs[j] >> 4) | (int32_t)((qh >> (j + 16)) & 1) << 4;
            o[j] = d * (float)(low - 16);
            o[j + 16] = d * (float)(high - 16);
        }
    }
}

/// Q5_1 (24 bytes): f16 d; f16 m; u8 qh[4]; u8 qs[16]; element = d·q + m, q unsigned 5-bit.
static void DQ_NAME(q5_1)(const uint8_t *src, float *dst, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++) {
        const uint8_t *block = src + 24 * b;
        const float d = DQ_HALF(block), m = DQ_HALF(block + 2);
        const uint32_t qh = load_u32(block + 4);
        const uint8_t *qs = block + 8;
        float *o = dst + 32 * b;
        for (int j = 0; j < 16; j++) {
            uint32_t low = (uint32_t)(qs[j] & 0x0F) | ((qh >> j) & 1) << 4;
            uint32_t high = (uint32_t)(qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4;
            o[j] = d * (float)low + m;
            o[j + 16] = d * (float)high + m;
        }
    }
}

/// Q4_K (144 bytes): f16 d; f16 dmin; u8 scales[12]; u8 qs[128]; sub-blocks 2i and 2i+1 take the
/// low and high nibbles of qs[32i ..< 32i+32]; element = (d·sc)·q − (dmin·m).
static void DQ_NAME(q4_k)(const uint8_t *src, float *dst, int64_t n) {
    for (int64_t b = 0; b < n / 256; b++) {
        const uint8_t *block = src + 144 * b;
        const float d = DQ_HALF(block), dmin = DQ_HALF(block + 2);
        const uint8_t *qs = block + 16;
        float *o = dst + 256 * b;
        for (int pair = 0; pair < 4; pair++) {
            uint8_t sc0, m0, sc1, m1;
            locus_scale_min_k4(block + 4, 2 * pair, &sc0, &m0);
            locus_scale_min_k4(block + 4, 2 * pair + 1, &sc1, &m1);
            const float d0 = d * (float)sc0, min0 = dmin * (float)m0;
            const float d1 = d * (float)sc1, min1 = dmin * (float)m1;
            const uint8_t *q = qs + 32 * pair;
            for (int l = 0; l < 32; l++) {
                o[64 * pair + l] = d0 * (float)(q[l] & 0x0F) - min0;
                o[64 * pair + 32 + l] = d1 * (float)(q[l] >> 4) - min1;
            }
        }
    }
}

/// Q5_K (176 bytes): f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]; as Q4_K plus bit k
/// of qh[l] as the fifth bit of element l of sub-block k.
static void DQ_NAME(q5_k)(const uint8_t *src, float *dst, int64_t n) {
    for (int64_t b = 0; b < n / 256; b++) {
        const uint8_t *block = src + 176 * b;
        const float d = DQ_HALF(block), dmin = DQ_HALF(block + 2);
        const uint8_t *qh = block + 16;
        const uint8_t *qs = block + 48;
        float *o = dst + 256 * b;
        for (int pair = 0; pair < 4; pair++) {
            uint8_t sc0, m0, sc1, m1;
            locus_scale_min_k4(block + 4, 2 * pair, &sc0, &m0);
            locus_scale_min_k4(block + 4, 2 * pair + 1, &sc1, &m1);
            const float d0 = d * (float)sc0, min0 = dmin * (float)m0;
            const float d1 = d * (float)sc1, min1 = dmin * (float)m1;
            const uint8_t *q = qs + 32 * pair;
            for (int l = 0; l < 32; l++) {
                uint8_t q0 = (uint8_t)((q[l] & 0x0F) | ((qh[l] >> (2 * pair)) & 1) << 4);
                uint8_t q1 = (uint8_t)((q[l] >> 4) | ((qh[l] >> (2 * pair + 1)) & 1) << 4);
                o[64 * pair + l] = d0 * (float)q0 - min0;
                o[64 * pair + 32 + l] = d1 * (float)q1 - min1;
            }
        }
    }
}

/// Q6_K (210 bytes): u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d. In half h (128 elements),
/// element 32k + l has low bits ql[64h + 32(k & 1) + l] >> 4(k >> 1) & 0xF and high bits
/// qh[32h + l] >> 2k & 3; value (d·scales[e / 16])·(q − 32) for super-block element e.
static void DQ_NAME(q6_k)(const uint8_t *src, float *dst, int64_t n) {
    for (int64_t b = 0; b < n / 256; b++) {
        const uint8_t *block = src + 210 * b;
        const float d = DQ_HALF(block + 208);
        const int8_t *scales = (const int8_t *)(block + 192);
        float *o = dst + 256 * b;
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = block + 64 * h;
            const uint8_t *qh = block + 128 + 32 * h;
            for (int k = 0; k < 4; k++) {
                const int lowShift = 4 * (k >> 1), highShift = 2 * k;
                const int base = 128 * h + 32 * k;
                const uint8_t *low = ql + 32 * (k & 1);
                for (int half16 = 0; half16 < 2; half16++) {
                    const float scale = d * (float)scales[base / 16 + half16];
                    for (int l = 16 * half16; l < 16 * half16 + 16; l++) {
                        int32_t q = (int32_t)(((low[l] >> lowShift) & 0x0F)
                                              | ((qh[l] >> highShift) & 3) << 4) - 32;
                        o[base + l] = scale * (float)q;
                    }
                }
            }
        }
    }
}

/// The kernel for ggml type `type` (F16 is each path's own), or NULL.
static locus_dequant_kernel DQ_NAME(table)(int type) {
    switch (type) {
    case LOCUS_BF16: return DQ_NAME(bf16);
    case LOCUS_Q8_0: return DQ_NAME(q8_0);
    case LOCUS_Q4_0: return DQ_NAME(q4_0);
    case LOCUS_Q4_1: return DQ_NAME(q4_1);
    case LOCUS_Q5_0: return DQ_NAME(q5_0);
    case LOCUS_Q5_1: return DQ_NAME(q5_1);
    case LOCUS_Q4_K: return DQ_NAME(q4_k);
    case LOCUS_Q5_K: return DQ_NAME(q5_k);
    case LOCUS_Q6_K: return DQ_NAME(q6_k);
    default: return 0;
    }
}
