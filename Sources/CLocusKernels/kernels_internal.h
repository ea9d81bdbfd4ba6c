#ifndef CLOCUS_KERNELS_INTERNAL_H
#define CLOCUS_KERNELS_INTERNAL_H

#include "CLocusKernels.h"
#include <string.h>

/// One row's dot product with the quantised activation: `blocks` is the row's number of the
/// type's blocks (32 elements, or 256 for the k-quants).
typedef float (*locus_row_kernel)(const uint8_t *row, int64_t blocks, const int8_t *q,
                                  const float *scale, const int32_t *sum);

static inline uint16_t load_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t load_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/// Sub-block j (0…7) 6-bit scale and min of a Q4_K/Q5_K super-block from its 12 scale bytes s
/// (ggml's get_scale_min_k4): j < 4: sc = s[j] & 63, m = s[j+4] & 63; j ≥ 4: low four bits from
/// s[j+4] (sc low nibble, m high nibble), top two from bits 6–7 of s[j−4] (sc) and s[j] (m).
static inline void locus_scale_min_k4(const uint8_t *s, int j, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (uint8_t)((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4));
        *m = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

float locus_half_to_float(uint16_t h);
locus_row_kernel locus_scalar_kernel(int type);
/// NULL when this build has no AVX2 path (not x86-64).
locus_row_kernel locus_avx2_kernel(int type);
/// The same kernels with the AVX-VNNI byte dot product; NULL when not x86-64.
locus_row_kernel locus_vnni_kernel(int type);
/// The 512-bit row kernels (Q4_K and Q6_K only; NULL otherwise or when not x86-64).
locus_row_kernel locus_avx512_kernel(int type);
/// 1 when this build and CPU can run the AVX-VNNI path (AVX2 + FMA + F16C + AVX-VNNI).
int locus_cpu_has_avx_vnni(void);

/// The int8 GEMM of gemm_q8_body.h: Y[j, r] = Σ_c W[r, c] · x̂_j[c] for rows r < `rows` (W row r at
/// w + r·rowBytes, `blocks` 32-element blocks per row) and activation rows j < n (q row j at
/// q + 32·blocks·j; xs/xsum row j at + blocks·j), Y row j at y + j·ldy.
typedef void (*locus_gemm_kernel)(const uint8_t *w, size_t rowBytes, int64_t rows, int64_t blocks,
                                  int64_t n, const int8_t *q, const float *xs, const int32_t *xsum,
                                  float *y, int64_t ldy);
/// NULL for a type without a GEMM in that build, or when not x86-64 (gemm_x86.c).
locus_gemm_kernel locus_avx512_gemm(int type);
locus_gemm_kernel locus_vnni_gemm(int type);
locus_gemm_kernel locus_avx2_gemm(int type);
/// 1 when this build and CPU can run AVX-512 F/BW/VL/VNNI (and AVX2 + FMA + F16C).
int locus_cpu_has_avx512_vnni(void);

/// Decodes n elements (whole blocks) of one type into float32.
typedef void (*locus_dequant_kernel)(const uint8_t *src, float *dst, int64_t n);
locus_dequant_kernel locus_scalar_dequantizer(int type);
/// NULL when this build has no AVX2 path (not x86-64).
locus_dequant_kernel locus_avx2_dequantizer(int type);

#endif
