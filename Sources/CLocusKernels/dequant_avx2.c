// AVX2 + FMA + F16C dequantisers: the loops of dequant_body.h compiled for those features
// function by function (no global -march) and called only after `__builtin_cpu_supports` said
// yes (dispatch.c). Halves convert with F16C (`vcvtph2ps`, exact); F16 tensors eight at a time.
#pragma STDC FP_CONTRACT OFF
#include "kernels_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

#define DQ_NAME(name) dequant_##name##_avx2
#define DQ_HALF(p) _cvtsh_ss(load_u16(p))
#include "dequant_body.h"

static void dequant_f16_avx2(const uint8_t *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(src + 2 * i));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
    for (; i < n; i++) dst[i] = _cvtsh_ss(load_u16(src + 2 * i));
}

#pragma clang attribute pop

locus_dequant_kernel locus_avx2_dequantizer(int type) {
    return type == LOCUS_F16 ? dequant_f16_avx2 : dequant_table_avx2(type);
}

#else

locus_dequant_kernel locus_avx2_dequantizer(int type) {
    (void)type;
    return 0;
}

#endif
