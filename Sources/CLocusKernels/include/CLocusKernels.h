// Quantised matrix-vector kernels: y = W·x with W stored in a ggml block type and x quantised to
// 8 bits per 32-element block (as llama.cpp does for its vec_dot kernels), and the dequantisers
// (ggml blocks, F16, BF16 → float32) used at load. Plain C with an AVX2 + FMA + F16C path selected
// at run time (function-level target attributes, no global -march) and a portable scalar path
// that every platform has and the tests force.
#ifndef CLOCUS_KERNELS_H
#define CLOCUS_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include "locus_matvec16.h"  // F16/BF16 × fp32 decode products

#ifdef __cplusplus
extern "C" {
#endif

/// Weight types of the kernels below; the values are ggml's type ids. The matrix-vector kernels
/// take the block types (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K); the dequantisers take
/// all of them.
enum LocusQuantType {
    LOCUS_F32 = 0,
    LOCUS_F16 = 1,
    LOCUS_Q4_0 = 2,
    LOCUS_Q4_1 = 3,
    LOCUS_Q5_0 = 6,
    LOCUS_Q5_1 = 7,
    LOCUS_Q8_0 = 8,
    LOCUS_Q4_K = 12,
    LOCUS_Q5_K = 13,
    LOCUS_Q6_K = 14,
    LOCUS_BF16 = 30,
};

/// Which implementation to run.
enum LocusKernelPath {
    LOCUS_PATH_AUTO = 0,   ///< the widest the CPU has: AVX-512 VNNI, else AVX-VNNI, else AVX2 + FMA, else scalar
    LOCUS_PATH_SCALAR = 1, ///< portable C
    LOCUS_PATH_AVX2 = 2,   ///< x86-64 AVX2 + FMA; falls back to scalar where unavailable
    LOCUS_PATH_AVX_VNNI = 3, ///< AVX2 with AVX-VNNI byte dot products (matrix-vector only; the
                             ///< dequantisers run AVX2); falls back to AVX2, then scalar
    LOCUS_PATH_AVX512_VNNI = 4, ///< AVX-512 F/BW/VL/VNNI: the int8 GEMM (locus_matmul) and the Q4_K/Q6_K
                                ///< matrix-vector kernels on 512-bit registers (other matrix-vector
                                ///< types and the dequantisers run as AUTO); falls back as AUTO
};

/// What `locus_matmul` runs for a type and path (`locus_matmul_path`).
enum LocusMatmulKind {
    LOCUS_MATMUL_NONE = 0,             ///< unsupported type
    LOCUS_MATMUL_ROWS = 1,             ///< the row kernels, one activation row at a time
    LOCUS_MATMUL_GEMM_AVX2 = 2,        ///< register-tiled GEMM, vpmaddubsw (nibble types)
    LOCUS_MATMUL_GEMM_AVX_VNNI = 3,    ///< register-tiled GEMM, 256-bit vpdpbusd
    LOCUS_MATMUL_GEMM_AVX512_VNNI = 4, ///< register-tiled GEMM, 512-bit vpdpbusd
};

/// 1 when this build and CPU can run the AVX-512 VNNI GEMM (`LOCUS_PATH_AVX512_VNNI`).
int locus_cpu_has_avx512_vnni(void);

/// Which implementation `locus_matmul` runs for ggml type `type` on `path` (LocusMatmulKind).
int locus_matmul_path(int type, int path);

/// 1 when this build and CPU can run the AVX-VNNI matrix-vector path (`LOCUS_PATH_AVX_VNNI`).
int locus_cpu_has_avx_vnni(void);

/// 1 when this build and CPU can run the AVX2 + FMA + F16C path.
int locus_cpu_has_avx2_fma(void);

/// 1 when the matrix-vector kernels accept ggml type `type`.
int locus_matvec_supports(int type);

/// Quantises x (n elements, n % 32 == 0) to 8 bits per 32-element block b:
/// scale[b] = max|x| / 127, q[32b + j] = round-to-nearest-even(x[32b + j] / scale[b]) (0 when
/// the block is all zero), sum[b] = Σ_j q[32b + j].
void locus_quantize_activation(
    const float *x, int64_t n, int8_t *q, float *scale, int32_t *sum);

/// y[r] = Σ_c W[r, c] · x̂[c] for r in 0..<rows, where x̂ is the quantised activation
/// above (q, scale, sum over `cols` elements) and W's rows are `rowBytes` apart starting at
/// `weights`. `cols` must be a multiple of the type's block size (32, or 256 for the k-quants).
/// Returns 0, or -1 for an unsupported type or shape.
int locus_matvec(
    int type, const void *weights, size_t rowBytes, int64_t rows, int64_t cols,
    const int8_t *q, const float *scale, const int32_t *sum, float *y, int path);

/// Y[i, r] = Σ_c W[r, c] · x̂_i[c] for n activation rows i (each quantised as above, row i at
/// q + i·cols, scale/sum + i·cols/32) and r in 0..<rows; Y row i at y + i·ldy. Q8_0, Q4_0,
/// Q4_1, Q5_0, Q4_K and Q6_K run the register-tiled int8 GEMM (gemm_q8_body.h: 4 weight rows × 4 activation rows per
/// tile on AVX-512 VNNI) where the CPU has it; the other types, and the scalar path, run the row
/// kernel per activation row over tiles of W rows that stay in cache. The GEMM sums the same
/// terms in another float order (same tolerance). Returns 0, or -1 as `locus_matvec`.
int locus_matmul(
    int type, const void *weights, size_t rowBytes, int64_t rows, int64_t cols, int64_t n,
    const int8_t *q, const float *scale, const int32_t *sum, float *y, int64_t ldy, int path);

/// 1 when `locus_dequantize` decodes ggml type `type`.
int locus_dequantize_supports(int type);

/// Decodes `count` elements of ggml type `type` from `src` (exactly the tensor's bytes, any
/// alignment) into `dst`, bit for bit the float32 values of gguf-py's `dequantize` (every element
/// one float32 multiply and at most one separate add, never fused). `count` must be a whole
/// number of the type's blocks (32, or 256 for the k-quants). Returns 0, or -1 for an unsupported
/// type or a partial block.
int locus_dequantize(int type, const void *src, int64_t count, float *dst, int path);

#ifdef __cplusplus
}
#endif

#endif
