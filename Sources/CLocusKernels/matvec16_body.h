// The 16-bit row dot products, included once per instruction set by matvec16.c with:
//   M16_NAME(name)   the function name for this set
//   M16_VEC          the float vector type (M16_LANES floats)
//   M16_ZERO()       a zero vector
//   M16_BF16(p)      M16_LANES BF16 values at p widened to float (bits << 16: exact)
//   M16_F16(p)       M16_LANES F16 values at p widened to float (vcvtph2ps: exact)
//   M16_FMA(a, b, c) a·b + c
//   M16_SUM(v)       the horizontal sum of v
// dot = Σ_c widen(w[c])·x[c] with four independent accumulators over 4·M16_LANES elements per
// step, then M16_LANES at a time, then one element at a time (the columns need not be a
// multiple of anything).

#define M16_DOT(kind, WIDEN, SCALAR)                                                         \
    static float M16_NAME(dot_##kind)(const uint8_t *w, const float *x, int64_t n) {         \
        M16_VEC a0 = M16_ZERO(), a1 = M16_ZERO(), a2 = M16_ZERO(), a3 = M16_ZERO();          \
        int64_t c = 0;                                                                       \
        for (; c + 4 * M16_LANES <= n; c += 4 * M16_LANES) {                                 \
            a0 = M16_FMA(WIDEN(w + 2 * c), M16_LOADX(x + c), a0);                            \
            a1 = M16_FMA(WIDEN(w + 2 * (c + M16_LANES)), M16_LOADX(x + c + M16_LANES), a1);  \
            a2 = M16_FMA(WIDEN(w + 2 * (c + 2 * M16_LANES)),                                 \
                         M16_LOADX(x + c + 2 * M16_LANES), a2);                              \
            a3 = M16_FMA(WIDEN(w + 2 * (c + 3 * M16_LANES)),                                 \
                         M16_LOADX(x + c + 3 * M16_LANES), a3);                              \
        }                                                                                    \
        for (; c + M16_LANES <= n; c += M16_LANES)                                           \
            a0 = M16_FMA(WIDEN(w + 2 * c), M16_LOADX(x + c), a0);                            \
        float sum = M16_SUM(M16_ADD(M16_ADD(a0, a1), M16_ADD(a2, a3)));                      \
        for (; c < n; c++) sum += SCALAR(load_u16(w + 2 * c)) * x[c];                        \
        return sum;                                                                          \
    }

M16_DOT(bf16, M16_BF16, locus_bf16_to_float)
M16_DOT(f16, M16_F16, locus_half_to_float)

#undef M16_DOT

/// Y[i, r] for every activation row i while weight row r is in cache.
static void M16_NAME(rows)(
    int type, const uint8_t *w, size_t rowBytes, int64_t rows, int64_t cols, const float *x,
    int64_t n, int64_t ldx, float *y, int64_t ldy) {
    float (*dot)(const uint8_t *, const float *, int64_t) =
        type == LOCUS_BF16 ? M16_NAME(dot_bf16) : M16_NAME(dot_f16);
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *row = w + (size_t)r * rowBytes;
        for (int64_t i = 0; i < n; i++) y[i * ldy + r] = dot(row, x + i * ldx, cols);
    }
}

// The parameters are the including file's, one set per instruction set: release them here.
#undef M16_NAME
#undef M16_VEC
#undef M16_LANES
#undef M16_ZERO
#undef M16_BF16
#undef M16_F16
#undef M16_LOADX
#undef M16_FMA
#undef M16_ADD
#undef M16_SUM
