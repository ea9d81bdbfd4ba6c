// Kernel-level timing of the int8 products in Sources/CLocusKernels, outside Swift: random blocks
// of a ggml type (seeded SplitMix64, small finite f16 scales), a quantised activation, then
//   gemm   TYPE ROWS COLS N REPS: locus_matmul on every x86 path (AVX-512 VNNI GEMM = 4, AVX-VNNI
//          GEMM = 3, AVX2 = 2) against the scalar row kernels (path 1): ms per call and the
//          largest difference relative to Σ|w·x̂| per output (float summation order only);
//   matvec TYPE ROWS COLS REPS: locus_matvec (the decode row kernels; AVX-512 for Q4_K/Q6_K) against
//          locus_matmul with n = 1 (the GEMM), ms per call and GB/s of weights read, and the
//          largest difference of the chosen row kernel from the scalar one.
// TYPE is ggml's id (8 Q8_0, 2 Q4_0, 3 Q4_1, 6 Q5_0, 12 Q4_K, 14 Q6_K). Not a test (the Swift tests are
// Int8GemmTests); a measurement aid. Build and run:
//   S=Sources/CLocusKernels; clang -O2 -I$S/include -I$S scripts/bench/int8_kernel_bench.c $S/*.c -lm \
//       -o /tmp/int8_kernel_bench && /tmp/int8_kernel_bench gemm 8 256 4096 128 10
#include "CLocusKernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t state = 1;
static uint64_t next(void) {
    state += 0x9E3779B97F4A7C15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}
static uint16_t half_bits(float f) {
    _Float16 h = (_Float16)f;
    uint16_t b;
    memcpy(&b, &h, 2);
    return b;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s gemm TYPE ROWS COLS N REPS | matvec TYPE ROWS COLS REPS\n", argv[0]);
        return 2;
    }
    const int gemm = strcmp(argv[1], "gemm") == 0;
    const int type = atoi(argv[2]);
    const int64_t rows = atol(argv[3]), cols = atol(argv[4]);
    const int64_t n = gemm ? atol(argv[5]) : 1;
    const int reps = atoi(argv[gemm ? 6 : 5]);
    int stride, elements = 32, scales[2] = {0, -1};
    switch (type) {
    case 8: stride = 34; break;
    case 2: stride = 18; break;
    case 3: stride = 20; scales[1] = 2; break;
    case 6: stride = 22; break;
    case 12: stride = 144; elements = 256; scales[1] = 2; break;
    case 14: stride = 210; elements = 256; scales[0] = 208; break;
    default: fprintf(stderr, "type %d: not one of 8, 2, 3, 6, 12, 14\n", type); return 2;
    }
    const int64_t weightBlocks = cols / elements, blocks = cols / 32;
    const size_t rowBytes = (size_t)stride * weightBlocks;
    uint8_t *w = malloc(rowBytes * rows);
    for (size_t i = 0; i < rowBytes * rows; i++) w[i] = (uint8_t)next();
    for (int64_t b = 0; b < rows * weightBlocks; b++)
        for (int k = 0; k < 2; k++)
            if (scales[k] >= 0) {
                uint16_t h = half_bits(((int)(next() % 2001) - 1000) * 1e-5f);
                memcpy(w + b * stride + scales[k], &h, 2);
            }
    float *x = malloc(sizeof(float) * n * cols);
    for (int64_t i = 0; i < n * cols; i++) x[i] = ((int)(next() % 20001) - 10000) * 1e-4f;
    int8_t *q = malloc(n * cols);
    float *s = malloc(sizeof(float) * n * blocks);
    int32_t *sum = malloc(sizeof(int32_t) * n * blocks);
    for (int64_t i = 0; i < n; i++) locus_quantize_activation(x + i * cols, cols, q + i * cols, s + i * blocks, sum + i * blocks);
    float *reference = malloc(sizeof(float) * n * rows), *y = malloc(sizeof(float) * n * rows);
    if (!gemm) {
        for (int round = 0; round < 2; round++) {
            double t0 = seconds();
            for (int r = 0; r < reps; r++) locus_matvec(type, w, rowBytes, rows, cols, q, s, sum, y, 0);
            double t1 = seconds();
            for (int r = 0; r < reps; r++) locus_matmul(type, w, rowBytes, rows, cols, 1, q, s, sum, y, rows, 0);
            double t2 = seconds();
            locus_matvec(type, w, rowBytes, rows, cols, q, s, sum, y, 0);
            locus_matvec(type, w, rowBytes, rows, cols, q, s, sum, reference, 1);
            double worst = 0;
            for (int64_t i = 0; i < rows; i++) {
                double d = fabs((double)y[i] - reference[i]) / (fabs(reference[i]) + 1.0);
                if (d > worst) worst = d;
            }
            // The AVX-512 Q4_K/Q6_K kernels promise the AVX-VNNI kernels' floats bit for bit.
            locus_matvec(type, w, rowBytes, rows, cols, q, s, sum, reference, 3);
            const int same = memcmp(y, reference, sizeof(float) * rows) == 0;
            printf("type %d %lldx%lld: matvec %.3f ms (%.1f GB/s), gemm n=1 %.3f ms (%.1f GB/s); "
                   "matvec max |Δ|/(|y|+1) vs scalar %.1e, %s the AVX-VNNI path\n", type,
                   (long long)rows, (long long)cols, 1e3 * (t1 - t0) / reps, rowBytes * rows / ((t1 - t0) / reps) / 1e9,
                   1e3 * (t2 - t1) / reps, rowBytes * rows / ((t2 - t1) / reps) / 1e9, worst,
                   same ? "bit-identical to" : "differs from");
        }
        return 0;
    }
    if (locus_matmul(type, w, rowBytes, rows, cols, n, q, s, sum, reference, rows, 1) != 0) {
        fprintf(stderr, "locus_matmul refused type %d (%lld, %lld)\n", type, (long long)rows, (long long)cols);
        return 1;
    }
    // Σ|w·x̂| per output, for the relative difference (row r's values through the scalar kernel
    // on |x̂| would need |w|; the scalar result's magnitude plus 1 is a cruder but safe scale).
    const int paths[] = {4, 3, 2};
    for (int p = 0; p < 3; p++) {
        double t0 = seconds();
        for (int r = 0; r < reps; r++) locus_matmul(type, w, rowBytes, rows, cols, n, q, s, sum, y, rows, paths[p]);
        double t1 = seconds(), worst = 0;
        for (int64_t i = 0; i < n * rows; i++) {
            double d = fabs((double)y[i] - reference[i]) / (fabs(reference[i]) + 1.0);
            if (d > worst) worst = d;
        }
        printf("type %d path %d (kind %d): %.3f ms per call, %.1f GMAC/s, max |Δ|/(|y|+1) vs scalar rows %.1e\n", type,
               paths[p], locus_matmul_path(type, paths[p]), 1e3 * (t1 - t0) / reps,
               (double)rows * cols * n / ((t1 - t0) / reps) / 1e9, worst);
    }
    return 0;
}
