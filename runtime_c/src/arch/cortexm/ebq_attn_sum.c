/* softmax(s) @ V for Cortex-M: two query rows x two channels per inner step.
 *
 * The sum runs over keys j, down the columns of H, so the operands are built per key pair:
 * two halfword loads (H[j][c..c+1], H[j+1][c..c+1]) packed into one word and split with
 * SXTB16 give (H[j][c], H[j+1][c]) and (H[j][c+1], H[j+1][c+1]), which pair with the int16
 * softmax numerators (e[j], e[j+1]) of each query. The numerators of the two queries are first
 * copied, interleaved, to a stack buffer, so one LDRD fetches both queries' pairs and one
 * pointer walks them: 8 MACs = 2 LDRH + PKHBT + 2 SXTB16 + LDRD + 4 SMLAD. Many numerators are
 * 0 (e < 0.5 / 127 of the max), and a key pair whose four numerators are 0 adds nothing to the
 * exact integer sums: when that saves work, only the other pairs are listed, each with its row
 * offset (one LDR more per pair; the rows are register-offset loads).
 * Integer sums exact, float epilogue in the ref's order: same bits as src/ref/ebq_attn_sum.c. */
#include "ebq_cm.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

#define MAXT 256u /* keys listed on the stack: 128 pairs x 3 words = 1.5 KiB; longer: col22 */

/* 8 MACs of one key pair: rows at p0, p1 (channels c, c+1), numerators ew[k], ew[k + 1] */
#define PAIR(p0, p1, k)                                                                    \
    do {                                                                                   \
        const uint32_t hh = ebq_cm_pkhbt(ebq_cm_ld16(p0), ebq_cm_ld16(p1));                \
        const uint32_t hc = ebq_cm_sxtb16(hh), hc1 = ebq_cm_sxtb16_ror8(hh);               \
        const uint32_t w0 = ew[(k)], w1 = ew[(k) + 1u];                                    \
        a00 = ebq_cm_smlad(hc, w0, a00);                                                   \
        a01 = ebq_cm_smlad(hc1, w0, a01);                                                  \
        a10 = ebq_cm_smlad(hc, w1, a10);                                                   \
        a11 = ebq_cm_smlad(hc1, w1, a11);                                                  \
    } while (0)

/* Channel pairs (c, c+1) of rows a0, a1 (may alias) over np key pairs. dense: every pair in
 * order, ew = (e0 pair, e1 pair) per pair; else the listed pairs, ew = (e0 pair, e1 pair,
 * byte offset of the pair's first row). The last key of an odd T comes alone (numerators
 * el0, el1 of row hl; 0 otherwise). Inlined with constant d for the default width, so the
 * rows of four dense pairs are immediate offsets of one pointer. */
static inline __attribute__((always_inline)) void sums22_body(
    float *a0, float *a1, const int8_t *restrict H, const uint32_t *restrict ew0, uint32_t np,
    int dense, uint32_t d, int32_t el0, int32_t el1, const int8_t *restrict hl, float az0,
    float az1) {
    for (uint32_t c = 0; c + 1u < d; c += 2u) {
        const int8_t *h = H + c, *hd = h + d;
        const uint32_t *ew = EBQ_CM_OPAQUE(ew0); /* else GCC hoists the numerators */
        int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0; /* [query][channel] */
        uint32_t p = np;
        if (dense) {
            for (; p >= 4u; p -= 4u, h += 8u * d, ew += 8) {
                PAIR(h, h + d, 0u);
                PAIR(h + 2u * d, h + 3u * d, 2u);
                PAIR(h + 4u * d, h + 5u * d, 4u);
                PAIR(h + 6u * d, h + 7u * d, 6u);
            }
            for (; p; p--, h += 2u * d, ew += 2) PAIR(h, h + d, 0u);
        } else {
            for (; p >= 4u; p -= 4u, ew += 12) {
                PAIR(h + ew[2], hd + ew[2], 0u);
                PAIR(h + ew[5], hd + ew[5], 3u);
                PAIR(h + ew[8], hd + ew[8], 6u);
                PAIR(h + ew[11], hd + ew[11], 9u);
            }
            for (; p; p--, ew += 3) PAIR(h + ew[2], hd + ew[2], 0u);
        }
        const int32_t x0 = hl[c], x1 = hl[c + 1u];
        a00 += el0 * x0, a01 += el0 * x1, a10 += el1 * x0, a11 += el1 * x1;
        a0[c] = (float)a00 * az0, a0[c + 1u] = (float)a01 * az0;
        a1[c] = (float)a10 * az1, a1[c + 1u] = (float)a11 * az1;
    }
}

static __attribute__((noinline)) void sums22_dense(float *a0, float *a1,
                                                   const int8_t *restrict H,
                                                   const uint32_t *restrict ew, uint32_t np,
                                                   uint32_t d, int32_t el0, int32_t el1,
                                                   const int8_t *restrict hl, float az0,
                                                   float az1) {
    if (d == 128u) /* the default d_model */
        sums22_body(a0, a1, H, ew, np, 1, 128u, el0, el1, hl, az0, az1);
    else
        sums22_body(a0, a1, H, ew, np, 1, d, el0, el1, hl, az0, az1);
}

static __attribute__((noinline)) void sums22_listed(float *a0, float *a1,
                                                    const int8_t *restrict H,
                                                    const uint32_t *restrict ew, uint32_t np,
                                                    uint32_t d, int32_t el0, int32_t el1,
                                                    const int8_t *restrict hl, float az0,
                                                    float az1) {
    sums22_body(a0, a1, H, ew, np, 0, d, el0, el1, hl, az0, az1);
}

/* int sums of channels (c, c+1) for queries e0, e1 over keys [0, T & ~1) */
static inline __attribute__((always_inline)) void col22(int32_t acc[4],
                                                        const int8_t *restrict h,
                                                        const int16_t *restrict e0,
                                                        const int16_t *restrict e1, uint32_t T,
                                                        uint32_t d) {
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0; /* [query][channel] */
    const size_t d2 = 2u * (size_t)d;
    const int16_t *p0 = e0, *p1 = e1, *end = e0 + (T & ~1u);
#pragma GCC unroll 4
    for (; p0 != end; p0 += 2, p1 += 2, h += d2) {
        const uint32_t hh = ebq_cm_pkhbt(ebq_cm_ld16(h), ebq_cm_ld16(h + d));
        const uint32_t hc = ebq_cm_sxtb16(hh), hc1 = ebq_cm_sxtb16_ror8(hh);
        const uint32_t w0 = ebq_cm_ld32(p0), w1 = ebq_cm_ld32(p1);
        a00 = ebq_cm_smlad(hc, w0, a00);
        a01 = ebq_cm_smlad(hc1, w0, a01);
        a10 = ebq_cm_smlad(hc, w1, a10);
        a11 = ebq_cm_smlad(hc1, w1, a11);
    }
    if (T & 1u) { /* the last key alone */
        const int32_t x0 = h[0], x1 = h[1]; /* h is at row T - 1 now */
        a00 += p0[0] * x0, a01 += p0[0] * x1, a10 += p1[0] * x0, a11 += p1[0] * x1;
    }
    acc[0] = a00, acc[1] = a01, acc[2] = a10, acc[3] = a11;
}

/* a0[c] = sum_j e0[j] H[j][c] * az0 (and a1 for e1) for channel pairs (c, c+1), c < d - 1 */
static void sums22(float *a0, float *a1, /* may alias */
                   const int8_t *restrict H, const int16_t *restrict e0,
                   const int16_t *restrict e1, uint32_t T, uint32_t d, float az0, float az1) {
    if (T <= MAXT) {
        uint32_t ew[3u * (MAXT / 2u)];
        const uint32_t pairs = T / 2u, odd = T & 1u; /* the last key of an odd T, alone */
        const int32_t el0 = odd ? e0[T - 1u] : 0, el1 = odd ? e1[T - 1u] : 0;
        const int8_t *hl = odd ? H + (size_t)(T - 1u) * d : H;
        uint32_t np = 0;
        for (uint32_t p = 0; p < pairs; p++)
            np += (ebq_cm_ld32(e0 + 2u * p) | ebq_cm_ld32(e1 + 2u * p)) != 0u;
        /* a listed pair costs ~12 instructions per 8 MACs, one of the dense walk ~11 */
        if (12u * np >= 11u * pairs) {
            for (uint32_t p = 0; p < pairs; p++)
                ew[2u * p] = ebq_cm_ld32(e0 + 2u * p), ew[2u * p + 1u] = ebq_cm_ld32(e1 + 2u * p);
            sums22_dense(a0, a1, H, ew, pairs, d, el0, el1, hl, az0, az1);
        } else {
            uint32_t *w = ew;
            for (uint32_t p = 0; p < pairs; p++) {
                const uint32_t w0 = ebq_cm_ld32(e0 + 2u * p), w1 = ebq_cm_ld32(e1 + 2u * p);
                if ((w0 | w1) != 0u) w[0] = w0, w[1] = w1, w[2] = 2u * p * d, w += 3;
            }
            sums22_listed(a0, a1, H, ew, np, d, el0, el1, hl, az0, az1);
        }
        return;
    }
    for (uint32_t c = 0; c + 1u < d; c += 2u) {
        int32_t acc[4];
        col22(acc, H + c, e0, e1, T, d);
        a0[c] = (float)acc[0] * az0, a0[c + 1u] = (float)acc[1] * az0;
        a1[c] = (float)acc[2] * az1, a1[c + 1u] = (float)acc[3] * az1;
    }
}

/* a[n][d] <- e[n][T] . H[T][d] / Z[n] (+ float outlier channels) */
void ebq_attn_sum(float *restrict a, const int16_t *restrict e, const int32_t *restrict Z,
                  uint32_t n, const int8_t *restrict H, const uint16_t *restrict HO,
                  uint32_t ho_stride, uint32_t T, uint32_t d, float h_scale,
                  const uint16_t *restrict idx, uint32_t n_idx) {
    for (uint32_t i = 0; i < n; i += 2u) {
        /* a lone last row pairs with itself (computed twice, identical values) */
        const uint32_t nq = (n - i >= 2u) ? 2u : 1u, i1 = i + nq - 1u;
        const float az0 = (Z[i] > 0) ? h_scale / (float)Z[i] : 0.0f;
        const float az1 = (Z[i1] > 0) ? h_scale / (float)Z[i1] : 0.0f;
        float *a0 = a + (size_t)i * d, *a1 = a + (size_t)i1 * d;
        const int16_t *e0 = e + (size_t)i * T, *e1 = e + (size_t)i1 * T;
        sums22(a0, a1, H, e0, e1, T, d, az0, az1);
        for (uint32_t k = i; k <= i1; k++) {
            float *ak = a + (size_t)k * d;
            const int16_t *ek = e + (size_t)k * T;
            if (d & 1u) { /* odd width: the last channel alone */
                int32_t acc = 0;
                for (uint32_t j = 0; j < T; j++) acc += ek[j] * (int32_t)H[(size_t)j * d + d - 1u];
                ak[d - 1u] = (float)acc * (k == i ? az0 : az1);
            }
            if (Z[k] <= 0) { /* every key masked */
                for (uint32_t c = 0; c < d; c++) ak[c] = 0.0f;
                continue;
            }
            const float zf = (float)Z[k];
            for (uint32_t m = 0; m < n_idx; m++) { /* outlier channels in float, ref order */
                float v = 0.0f;
                for (uint32_t j = 0; j < T; j++)
                    v = v + (float)ek[j] * ebq_cm_f16(HO[(size_t)j * ho_stride + m]);
                ak[idx[m]] = v / zf;
            }
        }
    }
}
