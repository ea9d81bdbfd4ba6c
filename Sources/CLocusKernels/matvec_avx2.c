// x86-64 matrix-vector kernels: the row kernels of matvec_body.h compiled twice, function by
// function (no global -march), and called only after `__builtin_cpu_supports` said yes
// (dispatch.c):
// - AVX2 + FMA + F16C: the byte dot product is vpmaddubsw (u8 × s8 → int16 pair sums, exact
//   here, see matvec_body.h) then vpmaddwd with ones (→ int32 sums of four) and an add;
// - AVX-VNNI (VEX-encoded vpdpbusd, e.g. Intel Alder Lake and later, AMD Zen 5): the same sums of
//   four in one instruction, accumulated in int32.
// Both give bit-identical integer sums; the float work around them is the same code.
#include "kernels_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#define MV_NAME(name) mv_##name##_avx2
#define MV_DOT(acc, u, s) \
    _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1)))
#include "matvec_body.h"
#undef MV_NAME
#undef MV_DOT
#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avxvnni"))), apply_to = function)
#define MV_NAME(name) mv_##name##_vnni
#define MV_DOT(acc, u, s) _mm256_dpbusd_avx_epi32((acc), (u), (s))
#include "matvec_body.h"
#undef MV_NAME
#undef MV_DOT
#pragma clang attribute pop

locus_row_kernel locus_avx2_kernel(int type) { return mv_table_avx2(type); }
locus_row_kernel locus_vnni_kernel(int type) { return mv_table_vnni(type); }

#else

locus_row_kernel locus_avx2_kernel(int type) {
    (void)type;
    return 0;
}

locus_row_kernel locus_vnni_kernel(int type) {
    (void)type;
    return 0;
}

#endif
