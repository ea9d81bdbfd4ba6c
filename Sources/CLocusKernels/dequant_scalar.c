// Portable dequantisers (every platform): the loops of dequant_body.h with a bit-level half
// conversion. Also the entry point `locus_dequantize`, which picks the AVX2 path when the CPU
// has it (dispatch as in dispatch.c).
#pragma STDC FP_CONTRACT OFF
#include "kernels_internal.h"

#define DQ_NAME(name) dequant_##name##_scalar
#define DQ_HALF(p) locus_half_to_float(load_u16(p))
#include "dequant_body.h"

static void dequant_f16_scalar(const uint8_t *src, float *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = locus_half_to_float(load_u16(src + 2 * i));
}

locus_dequant_kernel locus_scalar_dequantizer(int type) {
    return type == LOCUS_F16 ? dequant_f16_scalar : dequant_table_scalar(type);
}

static int64_t dequant_block_elements(int type) {
    switch (type) {
    case LOCUS_F32: case LOCUS_F16: case LOCUS_BF16: return 1;
    case LOCUS_Q4_K: case LOCUS_Q5_K: case LOCUS_Q6_K: return 256;
    default: return 32;
    }
}

int locus_dequantize_supports(int type) {
    return type == LOCUS_F32 || locus_scalar_dequantizer(type) != 0;
}

int locus_dequantize(int type, const void *src, int64_t count, float *dst, int path) {
    if (count < 0 || count % dequant_block_elements(type) != 0) return -1;
    if (type == LOCUS_F32) {
        memcpy(dst, src, (size_t)count * 4);
        return 0;
    }
    locus_dequant_kernel kernel = 0;
    if (path != LOCUS_PATH_SCALAR && locus_cpu_has_avx2_fma()) kernel = locus_avx2_dequantizer(type);
    if (!kernel) kernel = locus_scalar_dequantizer(type);
    if (!kernel) return -1;
    kernel((const uint8_t *)src, dst, count);
    return 0;
}
