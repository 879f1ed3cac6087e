/* softmax(s) @ V for Cortex-M: two query rows x two channels per inner step.
 *
 * The sum runs over keys j, down the columns of H, so the operands are built per key pair:
 * two halfword loads (H[j][c..c+1], H[j+1][c..c+1]) packed into one word and split with
 * SXTB16 give (H[j][c], H[j+1][c]) and (H[j][c+1], H[j+1][c+1]), which pair with the int16
 * softmax numerators (e[j], e[j+1]) of each query. The numerators of the two queries are first
 * copied, interleaved, to a stack buffer, so one LDRD fetches both queries' pairs and one
 * pointer walks them (with two pointers GCC spilled): 8 MACs = 2 LDRH + PKHBT + 2 SXTB16 +
 * LDRD + 4 SMLAD. Most numerators are 0 (e < 0.5 / 127 of the max), and a key pair whose four
 * numerators are 0 adds nothing to the exact integer sums: when that saves work, only the other
 * pairs are listed, each with its row offset (one LDR and one ADD more per pair).
 * Integer sums exact, float epilogue in the ref's order: same bits as src/ref/ebq_attn_sum.c. */
#include "ebq_cm.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

#define MAXT 256u /* keys listed on the stack: 128 pairs x 3 words = 1.5 KiB; longer: col22 */

/* int sums of channels (c, c+1) for both queries over key pairs listed in ew: per pair
 * (e0 pair, e1 pair, byte offset of its first row); `dense`: every pair in order, offsets
 * unused */
static inline __attribute__((always_inline)) void col22i(int32_t acc[4],
                                                         const int8_t *restrict h,
                                                         const uint32_t *restrict ew,
                                                         uint32_t pairs, uint32_t d,
                                                         int dense) {
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0; /* [query][channel] */
    const size_t d2 = 2u * (size_t)d;
    const uint32_t *end = ew + 3u * pairs;
#pragma GCC unroll 4
    for (; ew != end; ew += 3) {
        const int8_t *p = dense ? h : h + ew[2];
        const uint32_t hh = ebq_cm_pkhbt(ebq_cm_ld16(p), ebq_cm_ld16(p + d));
        const uint32_t hc = ebq_cm_sxtb16(hh), hc1 = ebq_cm_sxtb16_ror8(hh);
        const uint32_t w0 = ew[0], w1 = ew[1];
        a00 = ebq_cm_smlad(hc, w0, a00);
        a01 = ebq_cm_smlad(hc1, w0, a01);
        a10 = ebq_cm_smlad(hc, w1, a10);
        a11 = ebq_cm_smlad(hc1, w1, a11);
        if (dense) h += d2;
    }
    acc[0] = a00, acc[1] = a01, acc[2] = a10, acc[3] = a11;
}

/* channel pairs of rows a0, a1 from the listed key pairs (see col22i) */
static __attribute__((noinline)) void listed22(float *a0, float *a1, /* may alias */
                                               const int8_t *restrict H,
                                               const uint32_t *restrict ew, uint32_t np,
                                               int dense, const int16_t *restrict e0,
                                               const int16_t *restrict e1, uint32_t T,
                                               uint32_t d, float az0, float az1) {
    const uint32_t odd = T & 1u; /* the last key of an odd T, alone */
    const int8_t *hl = odd ? H + (size_t)(T - 1u) * d : H;
    const int32_t el0 = odd ? e0[T - 1u] : 0, el1 = odd ? e1[T - 1u] : 0;
    for (uint32_t c = 0; c + 1u < d; c += 2u) {
        int32_t acc[4];
        if (dense)
            col22i(acc, H + c, ew, np, d, 1);
        else
            col22i(acc, H + c, ew, np, d, 0);
        if (odd) {
            const int32_t x0 = hl[c], x1 = hl[c + 1u];
            acc[0] += el0 * x0, acc[1] += el0 * x1, acc[2] += el1 * x0, acc[3] += el1 * x1;
        }
        a0[c] = (float)acc[0] * az0, a0[c + 1u] = (float)acc[1] * az0;
        a1[c] = (float)acc[2] * az1, a1[c + 1u] = (float)acc[3] * az1;
    }
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
static __attribute__((noinline)) void sums22(float *a0, float *a1, /* may alias */
                                             const int8_t *restrict H,
                                             const int16_t *restrict e0,
                                             const int16_t *restrict e1, uint32_t T,
                                             uint32_t d, float az0, float az1) {
    if (T <= MAXT) {
        uint32_t ew[3u * (MAXT / 2u)]; /* listed key pairs: e0 pair, e1 pair, row offset */
        const uint32_t pairs = T / 2u;
        uint32_t np = 0;
        for (uint32_t p = 0; p < pairs; p++)
            np += (ebq_cm_ld32(e0 + 2u * p) | ebq_cm_ld32(e1 + 2u * p)) != 0u;
        /* a listed pair costs ~13 instructions per 8 MACs, an unlisted one ~11 */
        const int dense = 13u * np >= 11u * pairs;
        uint32_t *w = ew;
        for (uint32_t p = 0; p < pairs; p++) {
            const uint32_t w0 = ebq_cm_ld32(e0 + 2u * p), w1 = ebq_cm_ld32(e1 + 2u * p);
            if (dense || (w0 | w1) != 0u)
                w[0] = w0, w[1] = w1, w[2] = 2u * p * d, w += 3;
        }
        listed22(a0, a1, H, ew, dense ? pairs : np, dense, e0, e1, T, d, az0, az1);
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
