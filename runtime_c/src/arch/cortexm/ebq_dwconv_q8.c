/* Causal depthwise Conv1D for Cortex-M: four output rows x one channel (rows4, the default
 * shape once every tap's row exists: 20 instructions per 16 MACs), else two output rows x two
 * channels per inner step (28 per 16, below).
 *
 * The sum runs over taps j down the columns of H. Per group of 4 rows r..r+3 and channel pair
 * (c, c+1), four halfword loads packed in two words and split with SXTB16 give the stride-2
 * row pairs (H[r][c], H[r+2][c]), (H[r+1][c], H[r+3][c]) (and the same for c+1); the taps of a
 * channel split the same way from one word, (w[j], w[j+2]) and (w[j+1], w[j+3]). Output row
 * t+1 sees the same rows one tap later: its taps (w[j-1], w[j+1]) and (w[j], w[j+2]) come
 * from one unaligned word load at j - 1, whose odd half (w[j], w[j+2]) is the even half of
 * the word at j. 16 MACs = 4 LDRH + 2 PKHBT + 4 SXTB16 (rows) + 4 LDR + 6 SXTB16 (taps) +
 * 8 SMLAD. Fast path: a = 1, one block of taps (k <= 32, the default k = 32), two rows;
 * anything else runs the reference loop.
 * Same bits as src/ref/ebq_dwconv_q8.c. */
#include "ebq_cm.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"
#include "../../ref/ref_loops.h"

/* rows t and t+1, channels in pairs; c0, c1 the two output rows. Taps below j0 fall before
 * row 0 (j0 = k - 1 - t for the first rows, else 0): the taps run in groups of 4 from j0, the
 * last (k - j0) % 4 alone. Inlined with constant d and k for the default shape: the row
 * strides and tap offsets then become immediate offsets and the 32 taps unroll, which keeps
 * the four sums and the pointers in registers (with run-time strides GCC spilled them: ~3.6
 * instead of ~2 instructions/MAC). */
static inline __attribute__((always_inline)) void rows2_body(float *restrict c0,
                                                             float *restrict c1,
                                                             const int8_t *restrict H,
                                                             uint32_t t, uint32_t d,
                                                             float h_scale,
                                                             const ebq_qtensor *restrict w,
                                                             uint32_t k, uint32_t j0) {
    /* row of tap j for output t: t + j - (k - 1) = r0 + (j - j0), r0 = 0 while j0 > 0 */
    const int8_t *row0 = H + (size_t)(t + j0 + 1u - k) * d;
    const uint32_t j4 = j0 + ((k - j0) & ~3u); /* end of the groups of 4 */
    const int8_t *wa = w->q;
    for (uint32_t ch = 0; ch + 1u < d; ch += 2u, wa += 2u * k) {
        const int8_t *wb = wa + k;
        const int8_t *h = row0 + ch;
        int32_t a0 = 0, a1 = 0, b0 = 0, b1 = 0; /* channel a/b x output t/t+1 */
#pragma GCC unroll 8
        for (uint32_t j = j0; j < j4; j += 4u) {
            const int8_t *hj = h + (size_t)(j - j0) * d;
            const uint32_t r02 = ebq_cm_pkhbt(ebq_cm_ld16(hj), ebq_cm_ld16(hj + 2u * d));
            const uint32_t r13 = ebq_cm_pkhbt(ebq_cm_ld16(hj + d), ebq_cm_ld16(hj + 3u * d));
            const uint32_t ha02 = ebq_cm_sxtb16(r02), hb02 = ebq_cm_sxtb16_ror8(r02);
            const uint32_t ha13 = ebq_cm_sxtb16(r13), hb13 = ebq_cm_sxtb16_ror8(r13);
            const uint32_t xa = ebq_cm_ld32(wa + j), xb = ebq_cm_ld32(wb + j);
            const uint32_t xae = ebq_cm_sxtb16(xa), xbe = ebq_cm_sxtb16(xb);
            a0 = ebq_cm_smlad(xae, ha02, a0);
            a0 = ebq_cm_smlad(ebq_cm_sxtb16_ror8(xa), ha13, a0);
            b0 = ebq_cm_smlad(xbe, hb02, b0);
            b0 = ebq_cm_smlad(ebq_cm_sxtb16_ror8(xb), hb13, b0);
            /* output t+1: taps j-1 .. j+2 on the same rows (tap -1 does not exist); the odd
             * half of that word, (w[j], w[j+2]), is xa's even half */
            const uint32_t ya = j ? ebq_cm_ld32(wa + j - 1u) : (xa << 8);
            const uint32_t yb = j ? ebq_cm_ld32(wb + j - 1u) : (xb << 8);
            a1 = ebq_cm_smlad(ebq_cm_sxtb16(ya), ha02, a1);
            a1 = ebq_cm_smlad(xae, ha13, a1);
            b1 = ebq_cm_smlad(ebq_cm_sxtb16(yb), hb02, b1);
            b1 = ebq_cm_smlad(xbe, hb13, b1);
        }
        for (uint32_t j = j4; j < k; j++) { /* the taps left over, one row each */
            const int8_t *hj = h + (size_t)(j - j0) * d;
            a0 += (int32_t)wa[j] * (int32_t)hj[0];
            b0 += (int32_t)wb[j] * (int32_t)hj[1];
            if (j) {
                a1 += (int32_t)wa[j - 1u] * (int32_t)hj[0];
                b1 += (int32_t)wb[j - 1u] * (int32_t)hj[1];
            }
        }
        /* output t+1, last tap: row t+1 */
        const int8_t *last = row0 + (size_t)(k - j0) * d + ch;
        a1 += (int32_t)wa[k - 1u] * (int32_t)last[0];
        b1 += (int32_t)wb[k - 1u] * (int32_t)last[1];
        const float sa = ebq_cm_f16(w->scale[ch]), sb = ebq_cm_f16(w->scale[ch + 1u]);
        float f;
        f = (0.0f + (float)a0 * sa) * h_scale, c0[ch] = f + w->bias[ch];
        f = (0.0f + (float)b0 * sb) * h_scale, c0[ch + 1u] = f + w->bias[ch + 1u];
        f = (0.0f + (float)a1 * sa) * h_scale, c1[ch] = f + w->bias[ch];
        f = (0.0f + (float)b1 * sb) * h_scale, c1[ch + 1u] = f + w->bias[ch + 1u];
    }
}

static __attribute__((noinline)) void rows2(float *restrict c0, float *restrict c1,
                                            const int8_t *restrict H, uint32_t t, uint32_t d,
                                            float h_scale, const ebq_qtensor *restrict w) {
    const uint32_t k = w->cols, j0 = (t + 1u >= k) ? 0u : k - 1u - t;
    if (d == 128u && k == 32u && j0 == 0u) /* the default config */
        rows2_body(c0, c1, H, t, 128u, h_scale, w, 32u, 0u);
    else if (d == 128u && k == 32u) /* its first 31 rows */
        rows2_body(c0, c1, H, t, 128u, h_scale, w, 32u, j0);
    else
        rows2_body(c0, c1, H, t, d, h_scale, w, k, j0);
}

/* Four output rows t .. t+3 of the default shape (k = 32, d = 128, t >= 31: every tap's row
 * exists), one channel at a time. Row m of the window (row t - 31 + m, m = 0 .. 34) feeds
 * output i through tap m - i. Per group of rows m = 4g .. 4g+3, two sign-extending byte loads
 * and a PKHBT give the stride-2 row pairs (h[m], h[m+2]) and (h[m+1], h[m+3]); output i takes
 * them with the tap pairs P[m-i] and P[m-i+1], P[s] = (w[s], w[s+2]) = SXTB16 of the word at
 * tap s, whose ror-8 half is P[s+1]. A group needs P[m-3] .. P[m+1]: the words at taps m-1
 * and m+1 give four of them, P[m-3] comes from the group before. 16 MACs = 4 LDRSB + 2 PKHBT +
 * 2 LDR + 4 SXTB16 + 8 SMLAD. The first and last groups read no tap outside 0 .. 31 (their
 * pairs with a missing tap are shifted halves: (0, w[s]) = P[s] << 16, (w[s], 0) = P[s] >> 16)
 * and no row past t+3. */
#define K4 32u
#define D4 128u

/* (a, b) as int16 halves from sign-extended bytes (PKHBT; GCC spells the C as UXTH + ORR) */
static inline uint32_t pk16(int32_t a, int32_t b) {
#if EBQ_CM_NATIVE && defined(__GNUC__)
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return ((uint32_t)a & 0xffffu) | ((uint32_t)b << 16);
#endif
}

/* the 8 MACs of one row group: pairs h02, h13, tap pairs pm3 .. p1 (P[m-3] .. P[m+1]) */
#define GROUP4(h02, h13, pm3, pm2, pm1, p0, p1)                                            \
    do {                                                                                   \
        a0 = ebq_cm_smlad(h02, p0, a0), a0 = ebq_cm_smlad(h13, p1, a0);                    \
        a1 = ebq_cm_smlad(h02, pm1, a1), a1 = ebq_cm_smlad(h13, p0, a1);                   \
        a2 = ebq_cm_smlad(h02, pm2, a2), a2 = ebq_cm_smlad(h13, pm1, a2);                  \
        a3 = ebq_cm_smlad(h02, pm3, a3), a3 = ebq_cm_smlad(h13, pm2, a3);                  \
    } while (0)

/* acc[i] = output i of the channel whose window row m is h[m * S] and whose taps are wq */
static inline __attribute__((always_inline)) void chan4(int32_t acc[4], const int8_t *h,
                                                        const int8_t *wq, uint32_t S) {
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    uint32_t h02 = pk16(h[0], h[2u * S]), h13 = pk16(h[S], h[3u * S]);
    const uint32_t w0 = ebq_cm_ld32(wq), w1 = ebq_cm_ld32(wq + 1);
    const uint32_t q0 = ebq_cm_sxtb16(w0);
    uint32_t p1 = ebq_cm_sxtb16(w1), p2 = ebq_cm_sxtb16_ror8(w1);
    GROUP4(h02, h13, 0u, q0 << 16, p1 << 16, q0, p1); /* taps -3 .. -1 are zeros */
#pragma GCC unroll 6
    for (uint32_t m = 4u; m < 28u; m += 4u) { /* groups 1 .. 6 */
        h02 = pk16(h[m * S], h[(m + 2u) * S]), h13 = pk16(h[(m + 1u) * S], h[(m + 3u) * S]);
        const uint32_t wm = ebq_cm_ld32(wq + m - 1u), wn = ebq_cm_ld32(wq + m + 1u);
        const uint32_t pm1 = ebq_cm_sxtb16(wm), p0 = ebq_cm_sxtb16_ror8(wm);
        const uint32_t n1 = ebq_cm_sxtb16(wn), n2 = ebq_cm_sxtb16_ror8(wn);
        GROUP4(h02, h13, p1, p2, pm1, p0, n1);
        p1 = n1, p2 = n2;
    }
    /* group 7 (m = 28): P[29] from the word at tap 28, not 29 (no tap 32) */
    h02 = pk16(h[28u * S], h[30u * S]), h13 = pk16(h[29u * S], h[31u * S]);
    const uint32_t w27 = ebq_cm_ld32(wq + 27), w28 = ebq_cm_ld32(wq + 28);
    const uint32_t p27 = ebq_cm_sxtb16(w27), p28 = ebq_cm_sxtb16_ror8(w27);
    const uint32_t p29 = ebq_cm_sxtb16_ror8(w28);
    GROUP4(h02, h13, p1, p2, p27, p28, p29);
    /* group 8 (m = 32): P[30] = (w30, 0), P[31] = (w31, 0), P[32] = P[33] = 0; row 35 does
     * not exist and would meet tap 32 or 33 only: h13 is row 33 alone (its high half, the
     * sign, meets 0) */
    h02 = pk16(h[32u * S], h[34u * S]), h13 = (uint32_t)(int32_t)h[33u * S];
    const uint32_t p30 = p28 >> 16, p31 = p29 >> 16;
    a1 = ebq_cm_smlad(h02, p31, a1);
    a2 = ebq_cm_smlad(h02, p30, a2), a2 = ebq_cm_smlad(h13, p31, a2);
    a3 = ebq_cm_smlad(h02, p29, a3), a3 = ebq_cm_smlad(h13, p30, a3);
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

/* c[i][ch] <- acc[i] in the ref's float order (c: 4 rows of D4) */
static inline __attribute__((always_inline)) void store4(float *restrict c, uint32_t ch,
                                                         const int32_t acc[4], float h_scale,
                                                         const ebq_qtensor *restrict w) {
    const float sa = ebq_cm_f16(w->scale[ch]), b = w->bias[ch];
    float f;
    f = (0.0f + (float)acc[0] * sa) * h_scale, c[ch] = f + b;
    f = (0.0f + (float)acc[1] * sa) * h_scale, c[D4 + ch] = f + b;
    f = (0.0f + (float)acc[2] * sa) * h_scale, c[2u * D4 + ch] = f + b;
    f = (0.0f + (float)acc[3] * sa) * h_scale, c[3u * D4 + ch] = f + b;
}

/* rows t .. t+3, t >= 31: the window is H itself */
static __attribute__((noinline)) void rows4(float *restrict c, const int8_t *restrict H,
                                            uint32_t t, float h_scale,
                                            const ebq_qtensor *restrict w) {
    const int8_t *row0 = H + (size_t)(t - (K4 - 1u)) * D4;
    for (uint32_t ch = 0; ch < D4; ch++) {
        int32_t acc[4];
        chan4(acc, row0 + ch, w->q + (size_t)ch * K4, D4);
        store4(c, ch, acc, h_scale, w);
    }
}

/* rows t .. t+3, t < 31: the window, rows before row 0 as zeros, copied per block of CB
 * channels to the stack (35 x 16 bytes); the taps that meet the zeros cost as the others */
#define CB 16u
static __attribute__((noinline)) void rows4_first(float *restrict c, const int8_t *restrict H,
                                                  uint32_t t, float h_scale,
                                                  const ebq_qtensor *restrict w) {
    uint32_t win[(K4 + 3u) * CB / 4u]; /* [m][CB] */
    const uint32_t z = K4 - 1u - t;    /* rows m < z fall before row 0 */
    memset(win, 0, z * CB);
    for (uint32_t c0 = 0; c0 < D4; c0 += CB) {
        for (uint32_t m = z; m < K4 + 3u; m++)
            memcpy(&win[m * (CB / 4u)], H + (size_t)(m - z) * D4 + c0, CB);
        for (uint32_t ch = 0; ch < CB; ch++) {
            int32_t acc[4];
            chan4(acc, (const int8_t *)win + ch, w->q + (size_t)(c0 + ch) * K4, CB);
            store4(c, c0 + ch, acc, h_scale, w);
        }
    }
}

/* c[n][a*d] <- rows t .. t+n-1 */
void ebq_dwconv_q8(float *restrict c, const int8_t *restrict H, const uint16_t *restrict HO,
                   uint32_t ho_stride, uint32_t t, uint32_t n, uint32_t d, uint32_t a,
                   float h_scale, const ebq_qtensor *restrict w) {
    const uint32_t rows = w->rows;
    const int fast = a == 1u && w->n_blocks == 1u && d % 2u == 0u;
    for (uint32_t i = 0; i < n;) {
        float *ci = c + (size_t)i * rows;
        if (fast && n - i >= 4u && d == D4 && w->cols == K4) {
            if (t + i >= K4 - 1u)
                rows4(ci, H, t + i, h_scale, w);
            else
                rows4_first(ci, H, t + i, h_scale, w);
            i += 4u;
        } else if (fast && n - i >= 2u) {
            rows2(ci, ci + rows, H, t + i, d, h_scale, w);
            i += 2u;
        } else {
            ebq_ref_dwconv_int8_row(ci, H, t + i, d, a, h_scale, w);
            i += 1u;
        }
    }
    /* outlier input channels: their full kernels in float (ref order) */
    for (uint32_t i = 0; i < n; i++)
        ebq_ref_dwconv_outliers_row(c + (size_t)i * rows, HO, ho_stride, t + i, a, w);
}
