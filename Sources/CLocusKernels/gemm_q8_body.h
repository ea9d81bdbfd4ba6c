// The register-tiled int8 GEMM, written once and compiled three times by gemm_x86.c (AVX-512
// VNNI on 512-bit registers, AVX-VNNI and plain AVX2 on 256-bit ones):
//
//   Y[j, r] = Σ_c W[r, c] · x̂_j[c]      (Y: n × rows, row j at y + j·ldy)
//
// with x̂_j row j of the activation quantised to 8 bits per 32-element block b
// (locus_quantize_activation: x̂ = xs_{j,b} · q, Σ_block q = xsum_{j,b}) and W in a ggml block type.
// A tile of RM weight rows × RN activation rows is kept in RM·RN float accumulators: per step of
// G_BLOCKS blocks (2 on 512-bit registers, 1 on 256-bit ones) each weight block of the tile is
// unpacked once into unsigned bytes u and each activation block loaded once, and every pair
// (i, j) costs one byte dot product (G_DOT: vpdpbusd, or vpmaddubsw + vpmaddwd), one int → float
// conversion, one multiply of the two scale vectors and one FMA. Per 32-element block:
//
//   Q8_0  u = w + 128 (w XOR 0x80)  Σ w·q = Σ u·q − 128·xsum     value d·xs·(Σ u·q − 128·xsum)
//   Q4_0  u = nibble                 value d·xs·(Σ u·q − 8·xsum)
//   Q4_1  u = nibble                 value d·xs·Σ u·q + m·xs·xsum
//   Q5_0  u = nibble | fifth bit · 16 value d·xs·(Σ u·q − 16·xsum)
//   Q4_K  u = nibble of sub-block s  value (d·sc_s)·xs·Σ u·q − (dmin·m_s)·xs·xsum (Q4_1's form, the
//         6-bit scales unpacked once per 256-element super-block and row)
//   Q6_K  u = 6-bit value            value Σ_e (d·sc_e)·xs·Σ_{c∈e} (u − 32)·q over 16-element groups e:
//         the −32·Σq offset is per int32 lane (G_LANE_CORR32: −32 × each lane's sum of four q), and
//         the scale vector carries sc_e on the four lanes of group e
//
// The integer offset −bias·xsum is exact: it starts the block's dot product in the first int32
// lane of the block (G_CORR), so the lanes of a block sum to the exact integer Σ w·q. The min
// term of Q4_1/Q4_K, Σ_b m_b·xs_b·xsum_b, is a float dot product over blocks, done after the
// integer loop with G_FLOATS blocks per FMA (m and xs·xsum precomputed per row tile and call). Each accumulator lane then sums d_w·xs times its lane's integer over the
// blocks, and the lanes are added at the end (G_HSUM): the same terms as the row kernels of
// matvec_body.h in another float summation order, so the naive twin bound (1e-5 of Σ|w·x̂|)
// holds for both.
//
// Exactness of the integer dots: u ≤ 255 and |q| ≤ 127, so a vpdpbusd lane (four products plus
// the int32 accumulator) is far from int32 overflow. vpmaddubsw's int16 pair sums saturate above
// 32,767: exact for the nibble types (2·15·127) but not for Q8_0's u ≤ 255, so the plain AVX2
// build has no Q8_0 GEMM (gemm_x86.c) and Q8_0 falls back to its row kernel there.
//
// Facts from llamafile's tinyBLAS (ggerganov/llama.cpp ggml/src/ggml-cpu/llamafile/sgemm.cpp at
// 00d4995, `class tinyBLAS_Q0_AVX` and `gemm_bloc`): a tile of RM × RN float accumulators, the
// block scale product applied in float per block and pair, the remainders run by smaller tiles.
// Locus departs in the dot (the XOR-0x80/bias offset folded into the integer accumulator instead
// of tinyBLAS's per-pair sign trick, and two blocks per 512-bit vpdpbusd) and writes its own code.
//
// The including file defines: G_NAME(name) (a suffix per build), G_BLOCKS, GV_I / GV_F (the
// vector types), G_RM / G_RN (the largest tile), and the primitives used below.

/// Bytes per 32-element block of the 32-element types.
static inline __attribute__((always_inline)) size_t G_NAME(block_bytes)(const int kind) {
    switch (kind) {
    case LOCUS_Q8_0: return 34;
    case LOCUS_Q4_0: return 18;
    case LOCUS_Q5_0: return 22;
    default: return 20;  // Q4_1
    }
}

/// The float block scales of weight rows w + i·rowBytes (i < rm), once per row tile (every
/// activation tile then reuses them): ws[i·2·blocks + b] = d of block b (Q8_0, Q4_0, Q4_1),
/// d·sc_s (Q4_K), or d·sc_e of 16-element group e = 2b, 2b + 1 (Q6_K, two per block);
/// wm[i·blocks + b] = m (Q4_1) or −dmin·m_s (Q4_K; ggml's get_scale_min_k4 unpacking).
static inline __attribute__((always_inline)) void G_NAME(row_scales)(
    const int kind, int rm, const uint8_t *w, size_t rowBytes, int64_t blocks, float *ws, float *wm) {
    for (int i = 0; i < rm; i++) {
        const uint8_t *row = w + (size_t)i * rowBytes;
        float *d = ws + (size_t)i * 2 * blocks, *m = wm + (size_t)i * blocks;
        if (kind == LOCUS_Q4_K) {
            for (int64_t sb = 0; sb < blocks / 8; sb++) {
                const uint8_t *super = row + 144 * sb, *sc = super + 4;
                const float dd = G_HALF(super), dmin = G_HALF(super + 2);
                for (int j = 0; j < 8; j++) {
                    uint8_t scale, min;
                    locus_scale_min_k4(sc, j, &scale, &min);
                    d[8 * sb + j] = dd * (float)scale;
                    m[8 * sb + j] = -dmin * (float)min;
                }
            }
        } else if (kind == LOCUS_Q6_K) {
            for (int64_t sb = 0; sb < blocks / 8; sb++) {
                const uint8_t *super = row + 210 * sb;
                const float dd = G_HALF(super + 208);
                for (int e = 0; e < 16; e++) d[16 * sb + e] = dd * (float)((const int8_t *)(super + 192))[e];
            }
        } else {
            const size_t stride = G_NAME(block_bytes)(kind);
            for (int64_t b = 0; b < blocks; b++) {
                d[b] = G_HALF(row + stride * b);
                if (kind == LOCUS_Q4_1) m[b] = G_HALF(row + stride * b + 2);
            }
        }
    }
}

/// The tile: weight rows w + i·rowBytes (i < RM) times activation rows j < RN, written to
/// y[j·ldy + i]; the rows' float scales in ws/wm (row_scales). `blocks` 32-element blocks per
/// row; a last block that does not fill a G_BLOCKS step runs through `tail` (the scalar row
/// kernel on that one block).
static inline __attribute__((always_inline)) void G_NAME(tile)(
    const int kind, const int RM, const int RN, const uint8_t *w, size_t rowBytes, int64_t blocks,
    const float *ws, const float *wm, const int8_t *q, int64_t qStride, const float *xs,
    const int32_t *xsum, const float *cx, float *y, int64_t ldy, locus_row_kernel tail) {
    const int isQ6 = kind == LOCUS_Q6_K;
    const int isK = kind == LOCUS_Q4_K || isQ6;  // 256-element super-blocks: 8 blocks each, no tail
    // Bytes per block (32 elements).
    const size_t stride = G_NAME(block_bytes)(kind);
    const int bias = kind == LOCUS_Q8_0 ? 128 : (kind == LOCUS_Q4_0 ? 8 : (kind == LOCUS_Q5_0 ? 16 : 0));
    const int hasMin = kind == LOCUS_Q4_1 || kind == LOCUS_Q4_K;
    const int64_t sStride = qStride / 32;  // scale/sum entries per activation row
    GV_F acc[4][4];  // sized for the largest case below; RM ≤ G_RM, RN ≤ G_RN used
#pragma clang loop unroll(full)
    for (int i = 0; i < RM; i++)
#pragma clang loop unroll(full)
        for (int j = 0; j < RN; j++) acc[i][j] = G_ZERO_F;
    int64_t b = 0;
    for (; b + G_BLOCKS <= blocks; b += G_BLOCKS) {
        GV_I u[4];
        GV_F d[4];
#pragma clang loop unroll(full)
        for (int i = 0; i < RM; i++) {
            const float *wsi = ws + (size_t)i * 2 * blocks;
            if (isQ6) {
                u[i] = G_UNPACK_Q6(w + (size_t)i * rowBytes + 210 * (size_t)(b / 8), (int)(b % 8));
                d[i] = G_GROUP_SCALES(wsi + 2 * b);
                continue;
            }
            if (isK) {
                const int sub = (int)(b % 8);
                G_UNPACK_K4(u[i], w + (size_t)i * rowBytes + 144 * (size_t)(b / 8) + 16 + 32 * (sub / 2), sub);
            } else {
                const uint8_t *blk = w + (size_t)i * rowBytes + stride * (size_t)b;
                if (kind == LOCUS_Q8_0) u[i] = G_UNPACK_Q8(blk + 2, blk + 2 + stride);
                else if (kind == LOCUS_Q5_0) u[i] = G_UNPACK_Q5(blk, blk + stride);
                else G_UNPACK_NIBBLES(u[i], blk + (hasMin ? 4 : 2), blk + stride + (hasMin ? 4 : 2));
            }
            d[i] = G_ACT_SCALES(wsi + b);
        }
#pragma clang loop unroll(full)
        for (int j = 0; j < RN; j++) {
            const GV_I x = G_LOAD_ACT(q + j * qStride + 32 * b);
            const GV_F xd = G_ACT_SCALES(xs + j * sStride + b);
            const GV_I corr = isQ6 ? G_LANE_CORR32(x) : (bias ? G_CORR(xsum + j * sStride + b, bias) : G_ZERO_I);
#pragma clang loop unroll(full)
            for (int i = 0; i < RM; i++) {
                const GV_I dot = G_DOT(corr, u[i], x);
                acc[i][j] = G_FMA(G_CVT(dot), G_MUL(d[i], xd), acc[i][j]);
            }
        }
    }
    float sums[4][4];
#pragma clang loop unroll(full)
    for (int i = 0; i < RM; i++)
#pragma clang loop unroll(full)
        for (int j = 0; j < RN; j++) sums[i][j] = G_HSUM(acc[i][j]);
    // The min term Σ_b m_{i,b} · (xs·xsum)_{j,b} over the blocks the loop above covered: a float
    // product over blocks, G_FLOATS blocks per FMA.
    if (hasMin) {
        const int64_t covered = b;
        GV_F am[4][4];
#pragma clang loop unroll(full)
        for (int i = 0; i < RM; i++)
#pragma clang loop unroll(full)
            for (int j = 0; j < RN; j++) am[i][j] = G_ZERO_F;
        int64_t t = 0;
        for (; t + G_FLOATS <= covered; t += G_FLOATS) {
            GV_F mv[4];
#pragma clang loop unroll(full)
            for (int i = 0; i < RM; i++) mv[i] = G_LOADF(wm + (size_t)i * blocks + t);
#pragma clang loop unroll(full)
            for (int j = 0; j < RN; j++) {
                const GV_F c = G_LOADF(cx + (size_t)j * blocks + t);
#pragma clang loop unroll(full)
                for (int i = 0; i < RM; i++) am[i][j] = G_FMA(mv[i], c, am[i][j]);
            }
        }
#pragma clang loop unroll(full)
        for (int i = 0; i < RM; i++)
#pragma clang loop unroll(full)
            for (int j = 0; j < RN; j++) {
                float rest = G_HSUM(am[i][j]);
                for (int64_t k = t; k < covered; k++) rest += wm[(size_t)i * blocks + k] * cx[(size_t)j * blocks + k];
                sums[i][j] += rest;
            }
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < RM; i++)
#pragma clang loop unroll(full)
        for (int j = 0; j < RN; j++) {
            float rest = 0;
            for (int64_t t = b; !isK && t < blocks; t++)
                rest += tail(w + (size_t)i * rowBytes + stride * (size_t)t, 1, q + j * qStride + 32 * t,
                             xs + j * sStride + t, xsum + j * sStride + t);
            y[j * ldy + i] = sums[i][j] + rest;
        }
}

/// Every tile of the (rows × n) product: RM × RN tiles of G_RM × G_RN, the edges by smaller
/// tiles (each (rm, rn) its own unrolled instance).
static inline __attribute__((always_inline)) void G_NAME(gemm)(
    const int kind, const uint8_t *w, size_t rowBytes, int64_t rows, int64_t blocks, int64_t n,
    const int8_t *q, const float *xs, const int32_t *xsum, float *y, int64_t ldy) {
    const locus_row_kernel tail = locus_scalar_kernel(kind);
    const int64_t qStride = 32 * blocks;
    const int hasMin = kind == LOCUS_Q4_1 || kind == LOCUS_Q4_K;
    float *ws = (float *)malloc(sizeof(float) * (size_t)(G_RM * 3 * blocks + (hasMin ? n * blocks : 0)));
    if (!ws) abort();
    float *wm = ws + G_RM * 2 * blocks;
    // cx[j·blocks + b] = xs_{j,b} · xsum_{j,b}: the activation side of the min term.
    float *cx = wm + G_RM * blocks;
    if (hasMin)
        for (int64_t k = 0; k < n * blocks; k++) cx[k] = xs[k] * (float)xsum[k];
    for (int64_t r0 = 0; r0 < rows; r0 += G_RM) {
        const int rm = (int)(rows - r0 < G_RM ? rows - r0 : G_RM);
        const uint8_t *wr = w + (size_t)r0 * rowBytes;
        G_NAME(row_scales)(kind, rm, wr, rowBytes, blocks, ws, wm);
        for (int64_t j0 = 0; j0 < n; j0 += G_RN) {
            const int rn = (int)(n - j0 < G_RN ? n - j0 : G_RN);
            const int8_t *qj = q + j0 * qStride;
            const float *sj = xs + j0 * blocks;
            const int32_t *cj = xsum + j0 * blocks;
            float *yj = y + j0 * ldy + r0;
#define G_CASE(RM_, RN_)                                                                          \
    case (RM_) * 8 + (RN_):                                                                       \
        if ((RM_) <= G_RM && (RN_) <= G_RN)                                                       \
            G_NAME(tile)(kind, RM_, RN_, wr, rowBytes, blocks, ws, wm, qj, qStride, sj, cj, cx + j0 * blocks, yj, ldy, tail); \
        break;
            switch (rm * 8 + rn) {
                G_CASE(1, 1) G_CASE(1, 2) G_CASE(1, 3) G_CASE(1, 4)
                G_CASE(2, 1) G_CASE(2, 2) G_CASE(2, 3) G_CASE(2, 4)
                G_CASE(3, 1) G_CASE(3, 2) G_CASE(3, 3) G_CASE(3, 4)
                G_CASE(4, 1) G_CASE(4, 2) G_CASE(4, 3) G_CASE(4, 4)
            default: break;
            }
#undef G_CASE
        }
    }
    free(ws);
}

static __attribute__((unused)) void G_NAME(gemm_q8_0)(const uint8_t *w, size_t rowBytes, int64_t rows, int64_t blocks,
                              int64_t n, const int8_t *q, const float *xs, const int32_t *xsum,
                              float *y, int64_t ldy) {
    G_NAME(gemm)(LOCUS_Q8_0, w, rowBytes, rows, blocks, n, q, xs, xsum, y, ldy);
}

static __attribute__((unused)) void G_NAME(gemm_q4_0)(const uint8_t *w, size_t rowBytes, int64_t rows, int64_t blocks,
                              int64_t n, const int8_t *q, const float *xs, const int32_t *xsum,
                              float *y, int64_t ldy) {
    G_NAME(gemm)(LOCUS_Q4_0, w, rowBytes, rows, blocks, n, q, xs, xsum, y, ldy);
}

static __attribute__((unused)) void G_NAME(gemm_q4_1)(const uint8_t *w, size_t rowBytes, int64_t rows, int64_t blocks,
                              int64_t n, const int8_t *q, const float *xs, const int32_t *xsum,
                              float *y, int64_t ldy) {
    G_NAME(gemm)(LOCUS_Q4_1, w, rowBytes, rows, blocks, n, q, xs, xsum, y, ldy);
}

static __attribute__((unused)) void G_NAME(gemm_q6_k)(const uint8_t *w, size_t rowBytes, int64_t rows, int64_t blocks,
                              int64_t n, const int8_t *q, const float *xs, const int32_t *xsum,
                              float *y, int64_t ldy) {
    G_NAME(gemm)(LOCUS_Q6_K, w, rowBytes, rows, blocks, n, q, xs, xsum, y, ldy);
}

static __attribute__((unused)) void G_NAME(gemm_q4_k)(const uint8_t *w, size_t rowBytes, int64_t rows, int64_t blocks,
                              int64_t n, const int8_t *q, const float *xs, const int32_t *xsum,
                              float *y, int64_t ldy) {
    G_NAME(gemm)(LOCUS_Q4_K, w, rowBytes, rows, blocks, n, q, xs, xsum, y, ldy);
}

static __attribute__((unused)) void G_NAME(gemm_q5_0)(const uint8_t *w, size_t rowBytes, int64_t rows, int64_t blocks,
                              int64_t n, const int8_t *q, const float *xs, const int32_t *xsum,
                              float *y, int64_t ldy) {
    G_NAME(gemm)(LOCUS_Q5_0, w, rowBytes, rows, blocks, n, q, xs, xsum, y, ldy);
}
