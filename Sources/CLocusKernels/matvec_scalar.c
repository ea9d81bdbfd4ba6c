// Portable scalar kernels: each block's weights are unpacked to 32 signed integers and dotted
// with the 8-bit activation in integer arithmetic; one float multiply-add per block (two for
// Q6_K's 16-element scales). The block layouts are ggml's (ggml-common.h); the value formulas
// are those of Sources/LocusCheckpoint/Dequantizer+*.swift, which the tests pin to gguf-py.
#include "kernels_internal.h"
#include <math.h>
#include <string.h>

float locus_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1F;
    uint32_t fraction = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0) {
        float magnitude = (float)fraction * 0x1p-24f;  // zero or subnormal: exact
        memcpy(&bits, &magnitude, 4);
        bits |= sign;
    } else if (exponent == 31) {
        bits = sign | 0x7F800000u | (fraction << 13) | (fraction ? 0x00400000u : 0);
    } else {
        bits = sign | ((exponent - 15 + 127) << 23) | (fraction << 13);
    }
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

void locus_quantize_activation(
    const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum) {
    for (int64_t b = 0; b < n / 32; b++) {
        const float *xb = x + 32 * b;
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(xb[j]));
        float d = amax / 127.0f;
        float inverse = d > 0 ? 1.0f / d : 0.0f;
        int32_t s = 0;
        for (int j = 0; j < 32; j++) {
            int v = (int)lrintf(xb[j] * inverse);
            v = v > 127 ? 127 : (v < -127 ? -127 : v);
            q[32 * b + j] = (int8_t)v;
            s += v;
        }
        scale[b] = d;
        sum[b] = s;
    }
}

static inline int32_t dot32(const int8_t *w, const int8_t *x) {
    int32_t s = 0;
    for (int j = 0; j < 32; j++) s += (int32_t)w[j] * (int32_t)x[j];
    return s;
}

static float row_q8_0(const uint8_t *row, int64_t blocks, const int8_t *q, const float *xs,
                      const int32_t *xsum) {
    (void)xsum;
    float acc = 0;
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *block = row + 34 * b;
        float d = locus_half_to_float(load_u16(block));
        acc += d * xs[b] * (float)dot32((const int8_t *)(block + 2), q + 32 * b);
    }
    return acc;
}

static float row_q4_0(const uint8_t *row, int64_t blocks, const int8_t *q, const float *xs,
                      const int32_t *xsum) {
    (void)xsum;
    float acc = 0;
    int8_t w[32];
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *block = row + 18 * b;
        for (int j = 0; j < 16; j++) {
            w[j] = (int8_t)((block[2 + j] & 0x0F) - 8);
            w[j + 16] = (int8_t)((block[2 + j] >> 4) - 8);
        }
        float d = locus_half_to_float(load_u16(block));
        acc += d * xs[b] * (float)dot32(w, q + 32 * b);
    }
    return acc;
}

static float row_q4_1(const uint8_t *row, int64_t blocks, const int8_t *q, const float *xs,
                      const int32_t *xsum) {
    float acc = 0;
    int8_t w[32];
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *block = row + 20 * b;
        for (int j = 0; j < 16; j++) {
            w[j] = (int8_t)(block[4 + j] & 0x0F);
            w[j + 16] = (int8_t)(block[4 + j] >> 4);
        }
        float d = locus_half_to_float(load_u16(block));
        float m = locus_half_to_float(load_u16(block + 2));
        acc += d * xs[b] * (float)dot32(w, q + 32 * b) + m * xs[b] * (float)xsum[b];
    }
    return acc;
}

static float row_q5_0(const uint8_t *row, int64_t blocks, const int8_t *q, const float *xs,
                      const int32_t *xsum) {
    (void)xsum;
    float acc = 0;
    int8_t w[32];
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *block = row + 22 * b;
        uint32_t qh = load_u32(block + 2);
        for (int j = 0; j < 16; j++) {
            w[j] = (int8_t)(((block[6 + j] & 0x0F) | (((qh >> j) & 1) << 4)) - 16);
            w[j + 16] = (int8_t)(((block[6 + j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16);
        }
        float d = locus_half_to_float(load_u16(block));
        acc += d * xs[b] * (float)dot32(w, q + 32 * b);
    }
    return acc;
}

static float row_q5_1(const uint8_t *row, int64_t blocks, const int8_t *q, const float *xs,
                      const int32_t *xsum) {
    float acc = 0;
    int8_t w[32];
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *block = row + 24 * b;
        uint32_t qh = load_u32(block + 4);
        for (int j = 0; j < 16; j++) {
            w[j] = (int8_t)((block[8 + j] & 0x0F) | (((qh >> j) & 1) << 4));
            w[j + 16] = (int8_t)((block[8 + j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
        }
        float d = locus_half_to_float(load_u16(block));
        float m = locus_half_to_float(load_u16(block + 2));
        acc += d * xs[b] * (float)dot32(w, q + 32 * b) + m * xs[b] * (float)xsum[b];
    }
    return acc;
}

/// Q4_K (five = 0) and Q5_K (five = 1): Σ_sub (d·sc)·xs·Σ q·x − (dmin·m)·xs·Σ x.
static float row_q45_k(int five, const uint8_t *row, int64_t superBlocks, const int8_t *q,
                       const float *xs, const int32_t *xsum) {
    float acc = 0;
    int8_t w[32];
    size_t stride = five ? 176 : 144;
    for (int64_t b = 0; b < superBlocks; b++) {
        const uint8_t *block = row + stride * b;
        float d = locus_half_to_float(load_u16(block));
        float dmin = locus_half_to_float(load_u16(block + 2));
        const uint8_t *scales = block + 4;
        const uint8_t *qh = block + 16;
        const uint8_t *qs = block + (five ? 48 : 16);
        for (int sub = 0; sub < 8; sub++) {
            uint8_t sc, m;
            locus_scale_min_k4(scales, sub, &sc, &m);
            const uint8_t *bytes = qs + 32 * (sub / 2);
            for (int l = 0; l < 32; l++) {
                int v = (sub & 1) ? bytes[l] >> 4 : bytes[l] & 0x0F;
                if (five) v |= ((qh[l] >> sub) & 1) << 4;
                w[l] = (int8_t)v;
            }
            int64_t a = 8 * b + sub;
            acc += d * (float)sc * xs[a] * (float)dot32(w, q + 32 * a)
                 - dmin * (float)m * xs[a] * (float)xsum[a];
        }
    }
    return acc;
}

static float row_q4_k(const uint8_t *row, int64_t n, const int8_t *q, const float *xs,
                      const int32_t *xsum) {
    return row_q45_k(0, row, n, q, xs, xsum);
}

static float row_q5_k(const uint8_t *row, int64_t n, const int8_t *q, const float *xs,
                      const int32_t *xsum) {
    return row_q45_k(1, row, n, q, xs, xsum);
}

static float row_q6_k(const uint8_t *row, int64_t superBlocks, const int8_t *q, const float *xs,
                      const int32_t *xsum) {
    (void)xsum;
    float acc = 0;
    for (int64_t b = 0; b < superBlocks; b++) {
        const uint8_t *block = row + 210 * b;
        float d = locus_half_to_float(load_u16(block + 208));
        const int8_t *scales = (const int8_t *)(block + 192);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = block + 64 * h;
            const uint8_t *qh = block + 128 + 32 * h;
            for (int k = 0; k < 4; k++) {
                int64_t a = 8 * b + 4 * h + k;
                const int8_t *x = q + 32 * a;
                int32_t s0 = 0, s1 = 0;
                for (int l = 0; l < 32; l++) {
                    int low = (ql[32 * (k & 1) + l] >> (4 * (k >> 1))) & 0x0F;
                    int high = (qh[l] >> (2 * k)) & 3;
                    int32_t p = (int32_t)((low | (high << 4)) - 32) * (int32_t)x[l];
                    if (l < 16) s0 += p; else s1 += p;
                }
                int e = (128 * h + 32 * k) / 16;
                acc += d * xs[a] * ((float)scales[e] * (float)s0 + (float)scales[e + 1] * (float)s1);
            }
        }
    }
    return acc;
}

locus_row_kernel locus_scalar_kernel(int type) {
    switch (type) {
    case LOCUS_Q8_0: return row_q8_0;
    case LOCUS_Q4_0: return row_q4_0;
    case LOCUS_Q4_1: return row_q4_1;
    case LOCUS_Q5_0: return row_q5_0;
    case LOCUS_Q5_1: return row_q5_1;
    case LOCUS_Q4_K: return row_q4_k;
    case LOCUS_Q5_K: return row_q5_k;
    case LOCUS_Q6_K: return row_q6_k;
    default: return 0;
    }
}
