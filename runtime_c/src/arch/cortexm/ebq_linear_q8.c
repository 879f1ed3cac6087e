/* Linear layer for Cortex-M with the DSP extension: int8 x int8 -> int32 with SMLAD.
 *
 * 2 x 2 output tiles (two weight rows x two token rows, as CMSIS-NN): the token rows are
 * widened to int16 pairs once per call and interleaved, each weight word is loaded and split
 * (SXTB16) once for both tokens, so 4 columns x 2 rows x 2 tokens = 16 MACs cost 2 LDR +
 * 2 LDRD + 4 SXTB16 + 8 SMLAD; a 32-column block is unrolled completely. Four tokens (the
 * forward pass runs four rows) take one weight row x four tokens instead: 16 MACs = LDR +
 * 2 SXTB16 + 4 LDRD + 8 SMLAD with registers to spare (a 2 x 4 tile would need 14). The float
 * work per block (convert, scale, VMLA) is the ref's, in the ref's order, so the bits are the
 * same as src/ref/ebq_linear_q8.c. */
#include "ebq_cm.h"
#include "ebq_cm_linear.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"
#include "../../ref/ref_loops.h"

/* input columns widened at a time: 2 tokens x 256 int16 = 1 KiB of stack; longer rows run in
 * chunks of whole blocks, with the partial float sums parked in y */
#define CHUNK 256u

/* one 4-column step of the 2 x 2 tile: rows (w0, w1) x tokens interleaved in xw */
#define STEP22(k)                                                                          \
    do {                                                                                   \
        const uint32_t x0e = xw[4u * (k)], x0o = xw[4u * (k) + 1u];                        \
        const uint32_t x1e = xw[4u * (k) + 2u], x1o = xw[4u * (k) + 3u];                   \
        const uint32_t wa = ebq_cm_ld32(w0 + 4u * (k));                                    \
        const uint32_t wae = ebq_cm_sxtb16(wa), wao = ebq_cm_sxtb16_ror8(wa);              \
        a00 = ebq_cm_smlad(wae, x0e, a00);                                                 \
        a00 = ebq_cm_smlad(wao, x0o, a00);                                                 \
        a01 = ebq_cm_smlad(wae, x1e, a01);                                                 \
        a01 = ebq_cm_smlad(wao, x1o, a01);                                                 \
        const uint32_t wb = ebq_cm_ld32(w1 + 4u * (k));                                    \
        const uint32_t wbe = ebq_cm_sxtb16(wb), wbo = ebq_cm_sxtb16_ror8(wb);              \
        a10 = ebq_cm_smlad(wbe, x0e, a10);                                                 \
        a10 = ebq_cm_smlad(wbo, x0o, a10);                                                 \
        a11 = ebq_cm_smlad(wbe, x1e, a11);                                                 \
        a11 = ebq_cm_smlad(wbo, x1o, a11);                                                 \
    } while (0)

/* int32 sums of one block of `steps` x 4 columns: a = {r0t0, r0t1, r1t0, r1t1} (blocks other
 * than 32 columns: short rows, a short last block) */
static inline __attribute__((always_inline)) void dot22(int32_t a[4], const int8_t *restrict w0,
                                                        const int8_t *restrict w1,
                                                        const uint32_t *restrict xw,
                                                        uint32_t steps) {
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    for (; steps; steps--, w0 += 4, w1 += 4, xw += 4) STEP22(0u);
    a[0] = a00, a[1] = a01, a[2] = a10, a[3] = a11;
}

/* one 4-column step of rows (w0, w1) x one token (xw not interleaved) */
#define STEP21(k)                                                                          \
    do {                                                                                   \
        const uint32_t xe = xw[2u * (k)], xo = xw[2u * (k) + 1u];                          \
        const uint32_t wa = ebq_cm_ld32(w0 + 4u * (k)), wb = ebq_cm_ld32(w1 + 4u * (k));   \
        a0 = ebq_cm_smlad(ebq_cm_sxtb16(wa), xe, a0);                                      \
        a0 = ebq_cm_smlad(ebq_cm_sxtb16_ror8(wa), xo, a0);                                 \
        a1 = ebq_cm_smlad(ebq_cm_sxtb16(wb), xe, a1);                                      \
        a1 = ebq_cm_smlad(ebq_cm_sxtb16_ror8(wb), xo, a1);                                 \
    } while (0)

static inline __attribute__((always_inline)) void dot21(int32_t a[2], const int8_t *restrict w0,
                                                        const int8_t *restrict w1,
                                                        const uint32_t *restrict xw,
                                                        uint32_t steps) {
    int32_t a0 = 0, a1 = 0;
    for (; steps; steps--, w0 += 4, w1 += 4, xw += 2) STEP21(0u);
    a[0] = a0, a[1] = a1;
}

/* The hot path: row pairs [0, 2 * np) over nb whole 32-column blocks. Its own small function
 * so the compiler keeps the four sums, three pointers and the operands in registers; y0/y1
 * hold the partial sums of earlier chunks unless `first`. */
static __attribute__((noinline)) void rows22(float *restrict y0, float *restrict y1,
                                             const int8_t *restrict wq,
                                             const uint16_t *restrict sc, uint32_t cols,
                                             uint32_t nbt, uint32_t np,
                                             const uint32_t *restrict xw0, uint32_t nb,
                                             int first) {
    for (uint32_t p = 0; p < np; p++, y0 += 2, y1 += 2) {
        const int8_t *w0 = wq + (size_t)(2u * p) * cols, *w1 = w0 + cols;
        const uint16_t *s0 = sc + (size_t)(2u * p) * nbt, *s1 = s0 + nbt;
        const uint32_t *xw = xw0;
        float f00 = 0.0f, f01 = 0.0f, f10 = 0.0f, f11 = 0.0f;
        if (!first) f00 = y0[0], f01 = y1[0], f10 = y0[1], f11 = y1[1];
        for (uint32_t b = 0; b < nb; b++, w0 += 32, w1 += 32, xw += 32) {
            int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
            STEP22(0u); STEP22(1u); STEP22(2u); STEP22(3u);
            STEP22(4u); STEP22(5u); STEP22(6u); STEP22(7u);
            const float sa = ebq_cm_f16(s0[b]), sb = ebq_cm_f16(s1[b]);
            f00 = ebq_cm_mla(f00, (float)a00, sa);
            f01 = ebq_cm_mla(f01, (float)a01, sa);
            f10 = ebq_cm_mla(f10, (float)a10, sb);
            f11 = ebq_cm_mla(f11, (float)a11, sb);
        }
        y0[0] = f00, y1[0] = f01, y0[1] = f10, y1[1] = f11;
    }
}

/* int32 sums of one 32-column block: rows (w0, w1) x tokens interleaved in xw */
static inline __attribute__((always_inline)) void block22(int32_t a[4], const int8_t *restrict w0,
                                                          const int8_t *restrict w1,
                                                          const uint32_t *restrict xw) {
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    STEP22(0u); STEP22(1u); STEP22(2u); STEP22(3u);
    STEP22(4u); STEP22(5u); STEP22(6u); STEP22(7u);
    a[0] = a00, a[1] = a01, a[2] = a10, a[3] = a11;
}

/* The whole layer for two tokens when a row is one chunk of 32-column blocks: each row pair
 * runs its blocks and the epilogue (y = acc * xs, + outlier columns, + bias: the ref's order)
 * in registers, so partial sums never go through y. The FP16 scales of a row's blocks b, b+1
 * come from one word (VCVTB + VCVTT). Inlined with constant cols for the default width: the
 * second row and every block are then immediate offsets of w0 and xw and the block loop
 * unrolls (no pointer spills); with a constant outlier count the epilogue has no loop and
 * keeps the outlier inputs in registers. */
static inline __attribute__((always_inline)) void fused22_body(
    float *restrict y0, float *restrict y1, const ebq_qtensor *restrict w,
    const uint32_t *restrict xw, const float *restrict xs, const float *restrict xo0,
    const float *restrict xo1, uint32_t cols, uint32_t no) {
    const uint32_t rows = w->rows, nb = cols / 32u;
    const int8_t *w0 = w->q; /* row o, then its blocks */
    const uint16_t *s0 = w->scale, *ow = w->outlier_w;
    const float *bias = w->bias;
    const float xs0 = xs[0], xs1 = xs[1];
    for (uint32_t o = 0; o + 1u < rows; o += 2u, s0 += 2u * nb) {
        const uint16_t *s1 = s0 + nb;
        const uint32_t *x = EBQ_CM_OPAQUE(xw); /* else GCC hoists all of xw out of the loop */
        float f00 = 0.0f, f01 = 0.0f, f10 = 0.0f, f11 = 0.0f; /* [row][token] */
        int32_t a[4];
#pragma GCC unroll 1
        for (uint32_t b = 0; b + 1u < nb; b += 2u, w0 += 64, x += 64) {
            float sa0, sa1, sb0, sb1;
            ebq_cm_f16x2(ebq_cm_ld32(s0 + b), &sa0, &sa1);
            ebq_cm_f16x2(ebq_cm_ld32(s1 + b), &sb0, &sb1);
            block22(a, w0, w0 + cols, x);
            f00 = ebq_cm_mla(f00, (float)a[0], sa0), f01 = ebq_cm_mla(f01, (float)a[1], sa0);
            f10 = ebq_cm_mla(f10, (float)a[2], sb0), f11 = ebq_cm_mla(f11, (float)a[3], sb0);
            block22(a, w0 + 32, w0 + 32 + cols, x + 32);
            f00 = ebq_cm_mla(f00, (float)a[0], sa1), f01 = ebq_cm_mla(f01, (float)a[1], sa1);
            f10 = ebq_cm_mla(f10, (float)a[2], sb1), f11 = ebq_cm_mla(f11, (float)a[3], sb1);
        }
        if (nb & 1u) { /* odd block count: the last block alone */
            const float sa = ebq_cm_f16(s0[nb - 1u]), sb = ebq_cm_f16(s1[nb - 1u]);
            block22(a, w0, w0 + cols, x);
            f00 = ebq_cm_mla(f00, (float)a[0], sa), f01 = ebq_cm_mla(f01, (float)a[1], sa);
            f10 = ebq_cm_mla(f10, (float)a[2], sb), f11 = ebq_cm_mla(f11, (float)a[3], sb);
            w0 += 32;
        }
        w0 += cols; /* past the second row */
        f00 = f00 * xs0, f01 = f01 * xs1, f10 = f10 * xs0, f11 = f11 * xs1;
        for (uint32_t m = 0; m < no; m++) {
            const float wa = ebq_cm_f16(ow[(size_t)o * no + m]);
            const float wb = ebq_cm_f16(ow[(size_t)(o + 1u) * no + m]);
            f00 = ebq_cm_mla(f00, xo0[m], wa), f01 = ebq_cm_mla(f01, xo1[m], wa);
            f10 = ebq_cm_mla(f10, xo0[m], wb), f11 = ebq_cm_mla(f11, xo1[m], wb);
        }
        if (bias) {
            f00 = f00 + bias[o], f01 = f01 + bias[o];
            f10 = f10 + bias[o + 1u], f11 = f11 + bias[o + 1u];
        }
        y0[o] = f00, y1[o] = f01, y0[o + 1u] = f10, y1[o + 1u] = f11;
    }
}

static __attribute__((noinline)) void fused22(float *restrict y0, float *restrict y1,
                                              const ebq_qtensor *restrict w,
                                              const uint32_t *restrict xw,
                                              const float *restrict xs,
                                              const float *restrict xo0,
                                              const float *restrict xo1) {
    /* the default d_model (and a * d), without outliers or with the default cap d / 32 */
    if (w->cols == 128u && w->n_outliers == 0u)
        fused22_body(y0, y1, w, xw, xs, xo0, xo1, 128u, 0u);
    else if (w->cols == 128u && w->n_outliers == 4u)
        fused22_body(y0, y1, w, xw, xs, xo0, xo1, 128u, 4u);
    else if (w->cols == 128u)
        fused22_body(y0, y1, w, xw, xs, xo0, xo1, 128u, w->n_outliers);
    else
        fused22_body(y0, y1, w, xw, xs, xo0, xo1, w->cols, w->n_outliers);
}

/* one 4-column step of weight row w0 x the four tokens in x (ebq_cm.h) */
#define STEP14(k) EBQ_CM_STEP14(k, w0, x)

#define NO4 4u /* outlier columns kept in registers by fused14 (the default cap d / 32) */

static inline __attribute__((always_inline)) void fused14_body(
    float *restrict y, const ebq_qtensor *restrict w, const uint32_t *restrict xw,
    const float *restrict xs, const float *restrict xo, uint32_t rows, uint32_t cols,
    uint32_t no) {
    const uint32_t nb = cols / 32u;
    const int8_t *w0 = w->q;
    const uint16_t *s0 = w->scale, *ow = w->outlier_w;
    const float *bias = w->bias;
    /* the outlier inputs [token][column], in registers when no == NO4 (a constant) */
    const int keep = no == NO4;
#define XK(t, m) const float x##t##m = keep ? xo[(t) * NO4 + (m)] : 0.0f
    XK(0, 0); XK(0, 1); XK(0, 2); XK(0, 3); XK(1, 0); XK(1, 1); XK(1, 2); XK(1, 3);
    XK(2, 0); XK(2, 1); XK(2, 2); XK(2, 3); XK(3, 0); XK(3, 1); XK(3, 2); XK(3, 3);
#undef XK
    float *yp = y;
    for (uint32_t o = 0; o < rows; o++, s0 += nb, yp++) {
        const uint32_t *x = EBQ_CM_OPAQUE(xw); /* else GCC hoists all of xw out of the loop */
        float f0 = 0.0f, f1 = 0.0f, f2 = 0.0f, f3 = 0.0f; /* [token] */
#pragma GCC unroll 4
        for (uint32_t b = 0; b < nb; b++, w0 += 32, x += 64) {
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            STEP14(0u); STEP14(1u); STEP14(2u); STEP14(3u);
            STEP14(4u); STEP14(5u); STEP14(6u); STEP14(7u);
            const float sb = ebq_cm_f16(s0[b]);
            f0 = ebq_cm_mla(f0, (float)a0, sb), f1 = ebq_cm_mla(f1, (float)a1, sb);
            f2 = ebq_cm_mla(f2, (float)a2, sb), f3 = ebq_cm_mla(f3, (float)a3, sb);
        }
        f0 = f0 * xs[0], f1 = f1 * xs[1], f2 = f2 * xs[2], f3 = f3 * xs[3];
        if (keep) { /* the row's 4 FP16 weights from two words (VCVTB, VCVTT) */
            float wm0, wm1, wm2, wm3;
            ebq_cm_f16x2(ebq_cm_ld32(ow + (size_t)o * NO4), &wm0, &wm1);
            ebq_cm_f16x2(ebq_cm_ld32(ow + (size_t)o * NO4 + 2u), &wm2, &wm3);
#define OUT4(m)                                                                            \
    f0 = ebq_cm_mla(f0, x0##m, wm##m), f1 = ebq_cm_mla(f1, x1##m, wm##m),                  \
    f2 = ebq_cm_mla(f2, x2##m, wm##m), f3 = ebq_cm_mla(f3, x3##m, wm##m)
            OUT4(0); OUT4(1); OUT4(2); OUT4(3);
#undef OUT4
        } else {
            for (uint32_t m = 0; m < no; m++) {
                const float wm = ebq_cm_f16(ow[(size_t)o * no + m]);
                f0 = ebq_cm_mla(f0, xo[m], wm), f1 = ebq_cm_mla(f1, xo[no + m], wm);
                f2 = ebq_cm_mla(f2, xo[2u * no + m], wm);
                f3 = ebq_cm_mla(f3, xo[3u * no + m], wm);
            }
        }
        if (bias) {
            const float bo = bias[o];
            f0 = f0 + bo, f1 = f1 + bo, f2 = f2 + bo, f3 = f3 + bo;
        }
        yp[0] = f0, yp[rows] = f1, yp[2u * rows] = f2, yp[3u * rows] = f3;
    }
}

static __attribute__((noinline)) void fused14(float *restrict y, const ebq_qtensor *restrict w,
                                              const uint32_t *restrict xw,
                                              const float *restrict xs,
                                              const float *restrict xo) {
    /* the default shapes (d_model 128, no outliers or the default cap d / 32) */
    if (w->rows == 128u && w->cols == 128u && w->n_outliers == 0u)
        fused14_body(y, w, xw, xs, xo, 128u, 128u, 0u);
    else if (w->rows == 128u && w->cols == 128u && w->n_outliers == NO4)
        fused14_body(y, w, xw, xs, xo, 128u, 128u, NO4);
    else
        fused14_body(y, w, xw, xs, xo, w->rows, w->cols, w->n_outliers);
}

/* xw <- four token rows x[t][len] (stride len) widened to int16 pairs, interleaved per 4
 * columns: (t0 even, t0 odd, t1 even, ..., t3 odd) */
static void widen4(uint32_t *restrict xw, const int8_t *restrict x, uint32_t len) {
    for (uint32_t c = 0; c < len; c += 4u, xw += 8) {
        for (uint32_t t = 0; t < 4u; t++) {
            const uint32_t v = ebq_cm_ld32(x + (size_t)t * len + c);
            xw[2u * t] = ebq_cm_sxtb16(v), xw[2u * t + 1u] = ebq_cm_sxtb16_ror8(v);
        }
    }
}

/* the same for one token (xw not interleaved) */
static __attribute__((noinline)) void rows21(float *restrict y0, const int8_t *restrict wq,
                                             const uint16_t *restrict sc, uint32_t cols,
                                             uint32_t nbt, uint32_t np,
                                             const uint32_t *restrict xw0, uint32_t nb,
                                             int first) {
    for (uint32_t p = 0; p < np; p++, y0 += 2) {
        const int8_t *w0 = wq + (size_t)(2u * p) * cols, *w1 = w0 + cols;
        const uint16_t *s0 = sc + (size_t)(2u * p) * nbt, *s1 = s0 + nbt;
        const uint32_t *xw = xw0;
        float f0 = 0.0f, f1 = 0.0f;
        if (!first) f0 = y0[0], f1 = y0[1];
        for (uint32_t b = 0; b < nb; b++, w0 += 32, w1 += 32, xw += 16) {
            int32_t a0 = 0, a1 = 0;
            STEP21(0u); STEP21(1u); STEP21(2u); STEP21(3u);
            STEP21(4u); STEP21(5u); STEP21(6u); STEP21(7u);
            f0 = ebq_cm_mla(f0, (float)a0, ebq_cm_f16(s0[b]));
            f1 = ebq_cm_mla(f1, (float)a1, ebq_cm_f16(s1[b]));
        }
        y0[0] = f0, y0[1] = f1;
    }
}

/* one row of an odd row count, one token (xw with `words` per 4 columns: 2 or 4) */
static int32_t dot11(const int8_t *restrict w0, const uint32_t *restrict xw, uint32_t words,
                     uint32_t steps) {
    int32_t acc = 0;
    for (uint32_t k = 0; k < steps; k++) {
        const uint32_t wa = ebq_cm_ld32(w0 + 4u * k);
        acc = ebq_cm_smlad(ebq_cm_sxtb16(wa), xw[words * k], acc);
        acc = ebq_cm_smlad(ebq_cm_sxtb16_ror8(wa), xw[words * k + 1u], acc);
    }
    return acc;
}

/* xw <- tokens x0 (and x1 when nt == 2) widened to int16 pairs, interleaved per 4 columns */
static void widen(uint32_t *restrict xw, const int8_t *restrict x0, const int8_t *restrict x1,
                  uint32_t nt, uint32_t len) {
    const uint32_t words = 2u * nt;
    for (uint32_t c = 0; c < len; c += 4u) {
        const uint32_t v0 = ebq_cm_ld32(x0 + c);
        uint32_t *p = xw + (c / 4u) * words;
        p[0] = ebq_cm_sxtb16(v0), p[1] = ebq_cm_sxtb16_ror8(v0);
        if (nt == 2u) {
            const uint32_t v1 = ebq_cm_ld32(x1 + c);
            p[2] = ebq_cm_sxtb16(v1), p[3] = ebq_cm_sxtb16_ror8(v1);
        }
    }
}

/* block sums of columns [c0, c0 + len) for token x0 (and x1 when nt == 2; both point at
 * column c0), all rows: y[t][o] = (c0 ? y[t][o] : 0) + sum over blocks of (float)sum * scale */
static void chunk(float *restrict y0, float *restrict y1, const int8_t *restrict x0,
                  const int8_t *restrict x1, uint32_t nt, uint32_t c0, uint32_t len,
                  const ebq_qtensor *restrict w) {
    const uint32_t rows = w->rows, cols = w->cols, bl = w->block, nb = w->n_blocks;
    const uint32_t words = 2u * nt; /* widened words per 4 columns */
    uint32_t xw[CHUNK];
    widen(xw, x0, x1, nt, len);
    const int8_t *wq = w->q + c0;
    const uint16_t *sc = w->scale + c0 / bl;
    const int first = (c0 == 0u);
    uint32_t o = 0;
    if (bl == 32u && len % 32u == 0u) { /* whole 32-column blocks: the hot path */
        if (nt == 2u)
            rows22(y0, y1, wq, sc, cols, nb, rows / 2u, xw, len / 32u, first);
        else
            rows21(y0, wq, sc, cols, nb, rows / 2u, xw, len / 32u, first);
        o = rows & ~1u;
    }
    for (; o + 2u <= rows; o += 2u) {
        const int8_t *w0 = wq + (size_t)o * cols, *w1 = w0 + cols;
        const uint16_t *s0 = sc + (size_t)o * nb, *s1 = s0 + nb;
        if (nt == 2u) {
            float f00 = 0.0f, f01 = 0.0f, f10 = 0.0f, f11 = 0.0f;
            if (!first) f00 = y0[o], f01 = y1[o], f10 = y0[o + 1u], f11 = y1[o + 1u];
            for (uint32_t c = 0, b = 0; c < len; c += bl, b++) {
                const uint32_t n = (c + bl < len) ? bl : len - c;
                int32_t a[4];
                dot22(a, w0 + c, w1 + c, xw + c, n / 4u);
                const float sa = ebq_cm_f16(s0[b]), sb = ebq_cm_f16(s1[b]);
                f00 = ebq_cm_mla(f00, (float)a[0], sa);
                f01 = ebq_cm_mla(f01, (float)a[1], sa);
                f10 = ebq_cm_mla(f10, (float)a[2], sb);
                f11 = ebq_cm_mla(f11, (float)a[3], sb);
            }
            y0[o] = f00, y1[o] = f01, y0[o + 1u] = f10, y1[o + 1u] = f11;
        } else {
            float f0 = 0.0f, f1 = 0.0f;
            if (!first) f0 = y0[o], f1 = y0[o + 1u];
            for (uint32_t c = 0, b = 0; c < len; c += bl, b++) {
                const uint32_t n = (c + bl < len) ? bl : len - c;
                int32_t a[2];
                dot21(a, w0 + c, w1 + c, xw + c / 2u, n / 4u);
                f0 = ebq_cm_mla(f0, (float)a[0], ebq_cm_f16(s0[b]));
                f1 = ebq_cm_mla(f1, (float)a[1], ebq_cm_f16(s1[b]));
            }
            y0[o] = f0, y0[o + 1u] = f1;
        }
    }
    for (; o < rows; o++) { /* odd row count */
        for (uint32_t t = 0; t < nt; t++) {
            float *yt = t ? y1 : y0;
            float f = first ? 0.0f : yt[o];
            for (uint32_t c = 0, b = 0; c < len; c += bl, b++) {
                const uint32_t n = (c + bl < len) ? bl : len - c;
                const int32_t acc = dot11(wq + (size_t)o * cols + c, xw + (c / 4u) * words + 2u * t,
                                          words, n / 4u);
                f = f + (float)acc * ebq_cm_f16(sc[(size_t)o * nb + b]);
            }
            yt[o] = f;
        }
    }
}

/* any other shape (columns not a multiple of 4): the reference loop for one token */
static void linear_any(float *restrict y, const int8_t *restrict x, const ebq_qtensor *restrict w) {
    const uint32_t rows = w->rows, cols = w->cols, bl = w->block, nb = w->n_blocks;
    for (uint32_t o = 0; o < rows; o++)
        y[o] = ebq_ref_linear_blocks(w->q + (size_t)o * cols, w->scale + (size_t)o * nb, x, cols,
                                     bl, nb);
}

/* ---- 2 x 4 tiles: two weight rows x four tokens ----
 *
 * Per 4 columns 32 MACs = 4 LDR + 4 SXTB16 + 4 LDRD + 16 SMLAD: each weight word is split
 * once for four tokens, each widened token pair is loaded once for two rows. That needs 14
 * core registers (8 sums, 2 weight halves, 2 token words, 2 pointers: all of r0-r12 and lr),
 * so the weight words are loaded twice (even bytes, then odd bytes) rather than kept, and the
 * layer is written in assembly (GCC spills long before), for the row widths of the default
 * model: 128 (q, out, pw: four 32-column blocks) and 16 (the embedding projections: one
 * block). The second row and every block are immediate offsets, the block sums go to the FPU
 * in pairs (VMOV), and the float work per block and per output is the ref's sequence. */

/* The state of the layer, advanced by one row pair per pass (the assembly reads the fields at
 * these offsets) */
typedef struct {
    const int8_t *w;      /*  0: weights of row o (row o + 1 follows) */
    const uint16_t *sc;   /*  4: block scales of row o (row o + 1's follow) */
    float *y;             /*  8: y[0][o] (token t at y + t * stride) */
    const float *bias;    /* 12: bias + o (0: none) */
    const uint16_t *ow;   /* 16: the 4 outlier weights of row o, row o + 1's follow (0: none) */
    uint32_t pairs;       /* 20: row pairs left */
    uint32_t stride;      /* 24: bytes between token rows of y */
    uint32_t ow_step;     /* 28: bytes from ow to the next pair's (0 without outliers) */
    const float *xs;      /* 32: the tokens' scales [4] */
    const float *xo;      /* 36: the tokens' outlier inputs [4][4] */
    const int8_t *xt[4];  /* 40: the tokens' int8 rows */
} l24_state;

#if EBQ_CM_NATIVE && defined(__GNUC__) && defined(__ARM_FP)
/* Rows of W columns in NB blocks of NS steps (4 columns each). First the four tokens, widened
 * (widen24's layout) into the frame: [sp, sp + 1024) is then read with SP-relative LDRDs, which
 * frees the register that kept row 0's weight word (so only row 1's is loaded twice). Per row
 * pair: the sums of both rows x four tokens, block by block (registers: r1 w, sums r3-r6
 * row 0 and r7-r10 row 1 (tokens 0-3), weight halves r11, r12, row 0's word r2, token words
 * r0, lr) into f[row][token] = s(2 token + row) from 0.0f: f += (float)sum * scale (VMLA: the
 * product rounded, then the sum); then f = f * xs; with OUTL and ow set the four outlier
 * columns f += xo * w16 in column order; with BIAS f = f + bias; with RES f = y + f (the
 * residual sum); stored as two adjacent floats per token. FP16 block scales: halves of s8-s11
 * (SCLOAD); xs in s12-s15; scratch s16-s21; the outlier inputs s16-s31 (token t, column m:
 * s(16 + 4t + m)) and weights s8-s15 (row 0: s8, s12, s9, s13; row 1: s10, s14, s11, s15),
 * after which xs is loaded again. [sp + 1024] holds the state pointer, [sp + 1028] eight
 * zeros. */
#define L24_ASM(W, NS, NB, STEPS, SCLOAD, BLOCKS, OUTL, BIAS, RES)                     \
    /* one 4-column step: weight bytes c of rows 0, 1; token words at sp + x */        \
    ".macro EBQ_STEP24 c, x, acc\n\t"                                                  \
    "ldr r2, [r1, #(\\c)]\n\t"                                                         \
    "ldr r12, [r1, #(" #W " + \\c)]\n\t"                                               \
    "sxtb16 r11, r2\n\t"                                                               \
    "sxtb16 r12, r12\n\t"                                                              \
    "ldrd r0, lr, [sp, #(\\x)]\n\t"                                                    \
    ".if \\acc\n\t"                                                                    \
    "smlad r3, r11, r0, r3\n\tsmlad r4, r11, lr, r4\n\t"                               \
    "smlad r7, r12, r0, r7\n\tsmlad r8, r12, lr, r8\n\t"                               \
    "ldrd r0, lr, [sp, #(\\x + 8)]\n\t"                                                \
    "smlad r5, r11, r0, r5\n\tsmlad r6, r11, lr, r6\n\t"                               \
    "smlad r9, r12, r0, r9\n\tsmlad r10, r12, lr, r10\n\t"                             \
    ".else\n\t" /* the block's first step starts the sums */                           \
    "smuad r3, r11, r0\n\tsmuad r4, r11, lr\n\t"                                       \
    "smuad r7, r12, r0\n\tsmuad r8, r12, lr\n\t"                                       \
    "ldrd r0, lr, [sp, #(\\x + 8)]\n\t"                                                \
    "smuad r5, r11, r0\n\tsmuad r6, r11, lr\n\t"                                       \
    "smuad r9, r12, r0\n\tsmuad r10, r12, lr\n\t"                                      \
    ".endif\n\t"                                                                       \
    "sxtb16 r11, r2, ror #8\n\t" /* row 0 kept in r2; row 1 loaded again */            \
    "ldr r12, [r1, #(" #W " + \\c)]\n\t"                                               \
    "sxtb16 r12, r12, ror #8\n\t"                                                      \
    "ldrd r0, lr, [sp, #(\\x + 16)]\n\t"                                               \
    "smlad r3, r11, r0, r3\n\tsmlad r4, r11, lr, r4\n\t"                               \
    "smlad r7, r12, r0, r7\n\tsmlad r8, r12, lr, r8\n\t"                               \
    "ldrd r0, lr, [sp, #(\\x + 24)]\n\t"                                               \
    "smlad r5, r11, r0, r5\n\tsmlad r6, r11, lr, r6\n\t"                               \
    "smlad r9, r12, r0, r9\n\tsmlad r10, r12, lr, r10\n\t"                             \
    ".endm\n\t"                                                                        \
    /* block b: steps NS * b .. NS * b + NS - 1; scales: half ha of sa (row 0), hb of sb */ \
    ".macro EBQ_BLOCK24 b, ha, sa, hb, sb\n\t"                                         \
    ".irp k, " STEPS "\n\t"                                                            \
    "EBQ_STEP24 (4 * (" #NS " * \\b + \\k)), (32 * (" #NS " * \\b + \\k)), \\k\n\t"    \
    ".endr\n\t"                                                                        \
    "vcvt\\ha\\().f32.f16 s16, \\sa\n\t"                                               \
    "vcvt\\hb\\().f32.f16 s17, \\sb\n\t"                                               \
    "vmov s18, s19, r3, r4\n\tvmov s20, s21, r5, r6\n\t"                               \
    "vcvt.f32.s32 s18, s18\n\tvcvt.f32.s32 s19, s19\n\t"                               \
    "vcvt.f32.s32 s20, s20\n\tvcvt.f32.s32 s21, s21\n\t"                               \
    "vmla.f32 s0, s18, s16\n\tvmla.f32 s2, s19, s16\n\t"                               \
    "vmla.f32 s4, s20, s16\n\tvmla.f32 s6, s21, s16\n\t"                               \
    "vmov s18, s19, r7, r8\n\tvmov s20, s21, r9, r10\n\t"                              \
    "vcvt.f32.s32 s18, s18\n\tvcvt.f32.s32 s19, s19\n\t"                               \
    "vcvt.f32.s32 s20, s20\n\tvcvt.f32.s32 s21, s21\n\t"                               \
    "vmla.f32 s1, s18, s17\n\tvmla.f32 s3, s19, s17\n\t"                               \
    "vmla.f32 s5, s20, s17\n\tvmla.f32 s7, s21, s17\n\t"                               \
    ".endm\n\t"                                                                        \
    "push {r4-r11, lr}\n\t"                                                            \
    "vpush {s16-s31}\n\t"                                                              \
    "sub sp, sp, #1060\n\t"                                                            \
    "str r0, [sp, #1024]\n\t"                                                          \
    /* eight zeros at sp + 1028 (the sums start from 0.0f), xs in s12-s15 */           \
    "movs r1, #0\n\t"                                                                  \
    "vmov s0, s1, r1, r1\n\tvmov s2, s3, r1, r1\n\t"                                   \
    "vmov s4, s5, r1, r1\n\tvmov s6, s7, r1, r1\n\t"                                   \
    "add r12, sp, #1028\n\t"                                                           \
    "vstmia r12, {s0-s7}\n\t"                                                          \
    "ldr r1, [r0, #32]\n\t"                                                            \
    "vldmia r1, {s12-s15}\n\t"                                                         \
    /* the four tokens widened to [sp, sp + 1024): r0-r3 even, r8-r11 odd halves */    \
    "add r12, r0, #40\n\t"                                                             \
    "ldmia r12, {r4-r7}\n\t"                                                           \
    "mov r12, sp\n\t"                                                                  \
    "movs lr, #(" #W " / 4)\n\t"                                                       \
    "3:\n\t"                                                                           \
    "ldr r0, [r4], #4\n\tldr r1, [r5], #4\n\tldr r2, [r6], #4\n\tldr r3, [r7], #4\n\t" \
    "sxtb16 r8, r0, ror #8\n\tsxtb16 r9, r1, ror #8\n\t"                               \
    "sxtb16 r10, r2, ror #8\n\tsxtb16 r11, r3, ror #8\n\t"                             \
    "sxtb16 r0, r0\n\tsxtb16 r1, r1\n\tsxtb16 r2, r2\n\tsxtb16 r3, r3\n\t"             \
    "stmia r12!, {r0-r3, r8-r11}\n\t"                                                  \
    "subs lr, lr, #1\n\t"                                                              \
    "bne 3b\n\t"                                                                       \
    "1:\n\t"                                                                           \
    "ldr r12, [sp, #1024]\n\t"                                                         \
    "ldmia r12, {r1, r3}\n\t"                                                          \
    SCLOAD                                                                             \
    "add r0, sp, #1028\n\t"                                                            \
    "vldmia r0, {s0-s7}\n\t"                                                           \
    BLOCKS                                                                             \
    "ldr r12, [sp, #1024]\n\t"                                                         \
    ".if " #OUTL "\n\t" /* the outlier weights took s12-s15 */                         \
    "ldr r0, [r12, #32]\n\t"                                                           \
    "vldmia r0, {s12-s15}\n\t"                                                         \
    ".endif\n\t"                                                                       \
    "vmul.f32 s0, s0, s12\n\tvmul.f32 s1, s1, s12\n\t"                                 \
    "vmul.f32 s2, s2, s13\n\tvmul.f32 s3, s3, s13\n\t"                                 \
    "vmul.f32 s4, s4, s14\n\tvmul.f32 s5, s5, s14\n\t"                                 \
    "vmul.f32 s6, s6, s15\n\tvmul.f32 s7, s7, s15\n\t"                                 \
    /* with OUTL, four outlier columns when ow is set */                               \
    ".if " #OUTL "\n\t"                                                                \
    "ldr r0, [r12, #16]\n\t"                                                           \
    "cmp r0, #0\n\t"                                                                   \
    "beq 2f\n\t"                                                                       \
    "vldmia r0, {s8-s11}\n\t"                                                          \
    "ldr r0, [r12, #36]\n\t"                                                           \
    "vldmia r0, {s16-s31}\n\t"                                                         \
    "vcvtt.f32.f16 s12, s8\n\tvcvtb.f32.f16 s8, s8\n\t"                                \
    "vcvtt.f32.f16 s13, s9\n\tvcvtb.f32.f16 s9, s9\n\t"                                \
    "vcvtt.f32.f16 s14, s10\n\tvcvtb.f32.f16 s10, s10\n\t"                             \
    "vcvtt.f32.f16 s15, s11\n\tvcvtb.f32.f16 s11, s11\n\t"                             \
    "vmla.f32 s0, s16, s8\n\tvmla.f32 s1, s16, s10\n\t"                                \
    "vmla.f32 s0, s17, s12\n\tvmla.f32 s1, s17, s14\n\t"                               \
    "vmla.f32 s0, s18, s9\n\tvmla.f32 s1, s18, s11\n\t"                                \
    "vmla.f32 s0, s19, s13\n\tvmla.f32 s1, s19, s15\n\t"                               \
    "vmla.f32 s2, s20, s8\n\tvmla.f32 s3, s20, s10\n\t"                                \
    "vmla.f32 s2, s21, s12\n\tvmla.f32 s3, s21, s14\n\t"                               \
    "vmla.f32 s2, s22, s9\n\tvmla.f32 s3, s22, s11\n\t"                                \
    "vmla.f32 s2, s23, s13\n\tvmla.f32 s3, s23, s15\n\t"                               \
    "vmla.f32 s4, s24, s8\n\tvmla.f32 s5, s24, s10\n\t"                                \
    "vmla.f32 s4, s25, s12\n\tvmla.f32 s5, s25, s14\n\t"                               \
    "vmla.f32 s4, s26, s9\n\tvmla.f32 s5, s26, s11\n\t"                                \
    "vmla.f32 s4, s27, s13\n\tvmla.f32 s5, s27, s15\n\t"                               \
    "vmla.f32 s6, s28, s8\n\tvmla.f32 s7, s28, s10\n\t"                                \
    "vmla.f32 s6, s29, s12\n\tvmla.f32 s7, s29, s14\n\t"                               \
    "vmla.f32 s6, s30, s9\n\tvmla.f32 s7, s30, s11\n\t"                                \
    "vmla.f32 s6, s31, s13\n\tvmla.f32 s7, s31, s15\n\t"                               \
    "2:\n\t"                                                                           \
    ".endif\n\t"                                                                       \
    "ldmia r12, {r0-r7}\n\t" /* w, sc, y, bias, ow, pairs, stride, ow_step */          \
    ".if " #BIAS "\n\t"                                                                \
    "vldmia r3, {s8-s9}\n\t"                                                           \
    "vadd.f32 s0, s0, s8\n\tvadd.f32 s1, s1, s9\n\t"                                   \
    "vadd.f32 s2, s2, s8\n\tvadd.f32 s3, s3, s9\n\t"                                   \
    "vadd.f32 s4, s4, s8\n\tvadd.f32 s5, s5, s9\n\t"                                   \
    "vadd.f32 s6, s6, s8\n\tvadd.f32 s7, s7, s9\n\t"                                   \
    "adds r3, #8\n\t"                                                                  \
    ".endif\n\t"                                                                       \
    ".if " #RES "\n\t"                                                                 \
    "vldmia r2, {s10-s11}\n\t"                                                         \
    "vadd.f32 s0, s10, s0\n\tvadd.f32 s1, s11, s1\n\t"                                 \
    ".endif\n\t"                                                                       \
    "vstmia r2, {s0-s1}\n\t"                                                           \
    "add r9, r2, r6\n\t"                                                               \
    ".if " #RES "\n\t"                                                                 \
    "vldmia r9, {s10-s11}\n\t"                                                         \
    "vadd.f32 s2, s10, s2\n\tvadd.f32 s3, s11, s3\n\t"                                 \
    ".endif\n\t"                                                                       \
    "vstmia r9, {s2-s3}\n\t"                                                           \
    "add r9, r9, r6\n\t"                                                               \
    ".if " #RES "\n\t"                                                                 \
    "vldmia r9, {s10-s11}\n\t"                                                         \
    "vadd.f32 s4, s10, s4\n\tvadd.f32 s5, s11, s5\n\t"                                 \
    ".endif\n\t"                                                                       \
    "vstmia r9, {s4-s5}\n\t"                                                           \
    "add r9, r9, r6\n\t"                                                               \
    ".if " #RES "\n\t"                                                                 \
    "vldmia r9, {s10-s11}\n\t"                                                         \
    "vadd.f32 s6, s10, s6\n\tvadd.f32 s7, s11, s7\n\t"                                 \
    ".endif\n\t"                                                                       \
    "vstmia r9, {s6-s7}\n\t"                                                           \
    "add r0, r0, #(2 * " #W ")\n\t"                                                    \
    "adds r1, #(4 * " #NB ")\n\t"                                                      \
    "adds r2, #8\n\t"                                                                  \
    "add r4, r4, r7\n\t"                                                               \
    "subs r5, #1\n\t"                                                                  \
    "stmia r12, {r0-r5}\n\t"                                                           \
    "bne 1b\n\t"                                                                       \
    "add sp, sp, #1060\n\t"                                                            \
    "vpop {s16-s31}\n\t"                                                               \
    "pop {r4-r11, pc}\n\t"                                                             \
    ".purgem EBQ_BLOCK24\n\t"                                                          \
    ".purgem EBQ_STEP24\n\t"

#define L24_128(OUTL, RES)                                                             \
    L24_ASM(128, 8, 4, "0, 1, 2, 3, 4, 5, 6, 7", "vldmia r3, {s8-s11}\n\t",                \
            "EBQ_BLOCK24 0, b, s8, b, s10\n\tEBQ_BLOCK24 1, t, s8, t, s10\n\t"             \
            "EBQ_BLOCK24 2, b, s9, b, s11\n\tEBQ_BLOCK24 3, t, s9, t, s11\n\t",            \
            OUTL, 1, RES)
#define L24_16(RES)                                                                    \
    L24_ASM(16, 4, 1, "0, 1, 2, 3", "vldr s8, [r3]\n\t", "EBQ_BLOCK24 0, b, s8, t, s8\n\t", \
            0, 0, RES)

#define U_ __attribute__((unused)) /* read by the assembly (r0) */
__attribute__((naked, noinline)) static void l24_128(U_ l24_state *st) { __asm__(L24_128(0, 0)); }
__attribute__((naked, noinline)) static void l24_128_o(U_ l24_state *st) { __asm__(L24_128(1, 0)); }
__attribute__((naked, noinline)) static void l24_128_res(U_ l24_state *st) {
    __asm__(L24_128(1, 1));
}
__attribute__((naked, noinline)) static void l24_16(U_ l24_state *st) { __asm__(L24_16(0)); }
__attribute__((naked, noinline)) static void l24_16_res(U_ l24_state *st) { __asm__(L24_16(1)); }
#undef U_
#undef L24_16
#undef L24_128
#undef L24_ASM
#define L24_NATIVE 1
#else
#define L24_NATIVE 0
#endif

#if !EBQ_CM_NATIVE
/* xw <- four token rows (x[t] = xt[t], w columns, w % 4 == 0) widened to int16 pairs, per 4
 * columns the words (t0 even, t1 even, t2 even, t3 even, t0 odd, ..., t3 odd): one LDRD per
 * token pair */
static inline __attribute__((always_inline)) void widen24(uint32_t *restrict xw,
                                                          const int8_t *const xt[4], uint32_t w) {
    const int8_t *x0 = xt[0], *x1 = xt[1], *x2 = xt[2], *x3 = xt[3];
    for (uint32_t c = 0; c < w; c += 4u, xw += 8) {
        const uint32_t v0 = ebq_cm_ld32(x0 + c), v1 = ebq_cm_ld32(x1 + c);
        const uint32_t v2 = ebq_cm_ld32(x2 + c), v3 = ebq_cm_ld32(x3 + c);
        xw[0] = ebq_cm_sxtb16(v0), xw[1] = ebq_cm_sxtb16(v1);
        xw[2] = ebq_cm_sxtb16(v2), xw[3] = ebq_cm_sxtb16(v3);
        xw[4] = ebq_cm_sxtb16_ror8(v0), xw[5] = ebq_cm_sxtb16_ror8(v1);
        xw[6] = ebq_cm_sxtb16_ror8(v2), xw[7] = ebq_cm_sxtb16_ror8(v3);
    }
}

/* the same in C for rows of w columns in 32-column blocks (or one block) and any outlier
 * count no: the host tests' twin of the assembly (an Arm build without an FPU keeps the
 * 1 x 4 path, which suits GCC better) */
static void l24_c(l24_state *st, uint32_t cols, uint32_t no, int res) {
    const uint32_t bl = cols < 32u ? cols : 32u, nb = cols / bl;
    uint32_t xw[256];
    widen24(xw, st->xt, cols);
    for (; st->pairs; st->pairs--) {
        for (uint32_t r = 0; r < 2u; r++) {
            for (uint32_t t = 0; t < 4u; t++) {
                float v = 0.0f;
                for (uint32_t b = 0; b < nb; b++) {
                    int32_t acc = 0;
                    for (uint32_t k = 0; k < bl / 4u; k++) {
                        const uint32_t c = bl * b + 4u * k;
                        const uint32_t wv = ebq_cm_ld32(st->w + r * cols + c);
                        const uint32_t *x = xw + 2u * c + t;
                        acc = ebq_cm_smlad(ebq_cm_sxtb16(wv), x[0], acc);
                        acc = ebq_cm_smlad(ebq_cm_sxtb16_ror8(wv), x[4], acc);
                    }
                    v = ebq_cm_mla(v, (float)acc, ebq_cm_f16(st->sc[nb * r + b]));
                }
                v = v * st->xs[t];
                for (uint32_t m = 0; m < no; m++)
                    v = ebq_cm_mla(v, st->xo[t * no + m], ebq_cm_f16(st->ow[r * no + m]));
                if (st->bias) v = v + st->bias[r];
                float *yp = st->y + t * (st->stride / 4u) + r;
                *yp = res ? *yp + v : v;
            }
        }
        st->w += 2u * cols, st->sc += 2u * nb, st->y += 2;
        if (st->bias) st->bias += 2;
        if (no) st->ow += 2u * no;
    }
}
#endif

/* y[t][rows] (res: y[t][rows] + ...) for four tokens xt[t]: rows (even count) of 128 columns
 * in 32-column blocks with a bias, or of 16 columns in one block without; 1 if done, 0 if the
 * layer is not one of these shapes */
int ebq_cm_linear4(float *restrict y, const ebq_qtensor *restrict w, const int8_t *const xt[4],
                   const float *restrict xs, const float *restrict xo, int res) {
#if EBQ_CM_NATIVE && !L24_NATIVE /* no FPU: the 1 x 4 path */
    (void)y, (void)w, (void)xt, (void)xs, (void)xo, (void)res;
    return 0;
#else
    const uint32_t no = w->n_outliers, cols = w->cols;
    const int wide = cols == 128u && w->block == 32u && w->bias;
    const int narrow = cols == 16u && w->block == 16u && !w->bias;
    /* VLDM wants word-aligned scales and outlier weights */
    const int aligned = ((uintptr_t)w->scale | (uintptr_t)w->outlier_w) % 4u == 0u;
    if (!(wide || narrow) || w->rows % 2u != 0u ||
        (L24_NATIVE && ((no != 0u && (no != 4u || narrow)) || !aligned)))
        return 0;
    l24_state st = {w->q, w->scale, y, w->bias, no ? w->outlier_w : 0, w->rows / 2u,
                    4u * w->rows, 4u * no, xs, xo, {xt[0], xt[1], xt[2], xt[3]}};
    if (st.pairs == 0u) return 1;
#if L24_NATIVE
    if (wide)
        res ? l24_128_res(&st) : no ? l24_128_o(&st) : l24_128(&st);
    else
        res ? l24_16_res(&st) : l24_16(&st);
#else
    l24_c(&st, cols, no, res);
#endif
    return 1;
#endif
}

/* y[n][rows] <- W[rows][cols] . (xs[i] * xq[i][cols] + outliers xo[i][n_out]) + bias[rows] */
void ebq_linear_q8(float *restrict y, const int8_t *restrict xq, const float *restrict xs,
                   const float *restrict xo, uint32_t n, const ebq_qtensor *restrict w) {
    const uint32_t rows = w->rows, cols = w->cols, bl = w->block, no = w->n_outliers;
    const int fast = (cols % 4u == 0u) && (bl % 4u == 0u) && (cols <= CHUNK || CHUNK % bl == 0u);
    for (uint32_t i = 0; i < n; i += 2u) {
        if (n - i >= 4u) {
            const int8_t *x0 = xq + (size_t)i * cols;
            const int8_t *const xt[4] = {x0, x0 + cols, x0 + 2u * cols, x0 + 3u * cols};
            if (ebq_cm_linear4(y + (size_t)i * rows, w, xt, xs + i,
                               no ? xo + (size_t)i * no : xo, 0)) {
                i += 2u; /* four tokens, 2 more below */
                continue;
            }
        }
        if (n - i >= 4u && bl == 32u && cols % 32u == 0u && 2u * cols <= CHUNK) {
            uint32_t xw[CHUNK]; /* four tokens at a time */
            widen4(xw, xq + (size_t)i * cols, cols);
            fused14(y + (size_t)i * rows, w, xw, xs + i, no ? xo + (size_t)i * no : xo);
            i += 2u; /* and 2 more below */
            continue;
        }
        const uint32_t nt = (n - i >= 2u) ? 2u : 1u;
        float *y0 = y + (size_t)i * rows, *y1 = y0 + rows;
        const int8_t *x0 = xq + (size_t)i * cols, *x1 = x0 + cols;
        if (nt == 2u && bl == 32u && cols % 32u == 0u && cols <= CHUNK && rows % 2u == 0u) {
            uint32_t xw[CHUNK];
            widen(xw, x0, x1, 2u, cols);
            const float *xo0 = no ? xo + (size_t)i * no : xo; /* xo may be NULL */
            fused22(y0, y1, w, xw, xs + i, xo0, no ? xo0 + no : xo);
            continue;
        }
        if (fast) {
            for (uint32_t c0 = 0; c0 < cols; c0 += CHUNK)
                chunk(y0, y1, x0 + c0, x1 + c0, nt, c0, (cols - c0 < CHUNK) ? cols - c0 : CHUNK, w);
        } else {
            linear_any(y0, x0, w);
            if (nt == 2u) linear_any(y1, x1, w);
        }
        /* y = acc * xs, + outlier columns in float, + bias: the ref order */
        for (uint32_t t = i; t < i + nt; t++) {
            float *yt = y + (size_t)t * rows;
            const float *xot = no ? xo + (size_t)t * no : xo; /* xo may be NULL */
            const float s = xs[t];
            for (uint32_t o = 0; o < rows; o++) {
                float v = yt[o] * s;
                for (uint32_t m = 0; m < no; m++)
                    v = v + xot[m] * ebq_cm_f16(w->outlier_w[(size_t)o * no + m]);
                if (w->bias) v = v + w->bias[o];
                yt[o] = v;
            }
        }
    }
}
