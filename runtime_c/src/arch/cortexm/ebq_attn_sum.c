/* softmax(s) @ V for Cortex-M: four (or two) query rows x two channels per inner step.
 *
 * The sum runs over keys j, down the columns of H, so the operands are built per key pair:
 * two halfword loads (H[j][c..c+1], H[j+1][c..c+1]) packed into one word and split with
 * SXTB16 give (H[j][c], H[j+1][c]) and (H[j][c+1], H[j+1][c+1]), which pair with the int16
 * softmax numerators (e[j], e[j+1]) of each query. The numerators of the two queries are first
 * copied, interleaved, to a stack buffer, so one LDRD fetches both queries' pairs and one
 * pointer walks them: 8 MACs = 2 LDRH + PKHBT + 2 SXTB16 + LDRD + 4 SMLAD. Many numerators are
 * 0 (e < 0.5 / 127 of the max), and a key pair whose four numerators are 0 adds nothing to the
 * exact integer sums: when that saves work, only the other pairs are listed, each with its row
 * offset (one LDR more per pair; the rows are register-offset loads). Four query rows at the
 * default width share each pair's operands between 8 SMLADs (15 instructions per 16 MACs
 * dense, 17 listed; the loop is an asm block, see sums4).
 * Integer sums exact, float epilogue in the ref's order: same bits as src/ref/ebq_attn_sum.c. */
#include "ebq_cm.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* keys listed on the stack: 128 pairs x 5 words = 2.5 KiB for four rows (3 words, 1.5 KiB
 * for two); longer: col22 */
#define MAXT 256u

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

/* ---- four query rows (default width): each key pair's operands feed 8 SMLADs ---- */

#define D4 128u /* the width of the four-row path (the rows' offsets are immediates) */

/* one key pair, four queries, in C: rows (p0, p1) at channels c, c+1; numerator words ew[0..4) */
#define PAIR4C(p0, p1)                                                                     \
    do {                                                                                   \
        const uint32_t hh = ebq_cm_pkhbt(ebq_cm_ld16(p0), ebq_cm_ld16(p1));                \
        const uint32_t hc = ebq_cm_sxtb16(hh), hc1 = ebq_cm_sxtb16_ror8(hh);               \
        a00 = ebq_cm_smlad(hc, ew[0], a00), a01 = ebq_cm_smlad(hc1, ew[0], a01);           \
        a10 = ebq_cm_smlad(hc, ew[1], a10), a11 = ebq_cm_smlad(hc1, ew[1], a11);           \
        a20 = ebq_cm_smlad(hc, ew[2], a20), a21 = ebq_cm_smlad(hc1, ew[2], a21);           \
        a30 = ebq_cm_smlad(hc, ew[3], a30), a31 = ebq_cm_smlad(hc1, ew[3], a31);           \
    } while (0)

#if EBQ_CM_NATIVE && defined(__GNUC__)
/* the 8 SMLADs of one key pair: channel c in t1, c+1 in t0, numerators at [ew, #o] */
#define EBQ_SMLAD8_ASM(o)                                                                  \
    "ldrd %[t2], %[t3], [%[ew], #" #o "]\n\t"                                             \
    "smlad %[a00], %[t1], %[t2], %[a00]\n\t"                                              \
    "smlad %[a01], %[t0], %[t2], %[a01]\n\t"                                              \
    "smlad %[a10], %[t1], %[t3], %[a10]\n\t"                                              \
    "smlad %[a11], %[t0], %[t3], %[a11]\n\t"                                              \
    "ldrd %[t2], %[t3], [%[ew], #" #o "+8]\n\t"                                           \
    "smlad %[a20], %[t1], %[t2], %[a20]\n\t"                                              \
    "smlad %[a21], %[t0], %[t2], %[a21]\n\t"                                              \
    "smlad %[a30], %[t1], %[t3], %[a30]\n\t"                                              \
    "smlad %[a31], %[t0], %[t3], %[a31]\n\t"
/* a listed pair (5 words: numerators, row offset) at [ew, #o]: 17 instructions */
#define EBQ_LISTED_ASM(o)                                                                  \
    "ldr %[t0], [%[ew], #" #o "+16]\n\t"                                                  \
    "ldrh %[t1], [%[h], %[t0]]\n\t"                                                       \
    "add %[t0], %[h], %[t0]\n\t"                                                          \
    "ldrh %[t0], [%[t0], #128]\n\t"                                                       \
    "pkhbt %[t1], %[t1], %[t0], lsl #16\n\t"                                              \
    "sxtb16 %[t0], %[t1], ror #8\n\t"                                                     \
    "sxtb16 %[t1], %[t1]\n\t" EBQ_SMLAD8_ASM(o)
/* a pair of the dense walk (4 words) at [ew, #o], rows at [h, #r]: 15 instructions */
#define EBQ_DENSE_ASM(o, r)                                                                \
    "ldrh %[t0], [%[h], #" #r "+128]\n\t"                                                 \
    "ldrh %[t1], [%[h], #" #r "]\n\t"                                                     \
    "pkhbt %[t1], %[t1], %[t0], lsl #16\n\t"                                              \
    "sxtb16 %[t0], %[t1], ror #8\n\t"                                                     \
    "sxtb16 %[t1], %[t1]\n\t" EBQ_SMLAD8_ASM(o)
#define EBQ_SUMS4_OUT                                                                      \
    [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [a20] "+r"(a20),   \
        [a21] "+r"(a21), [a30] "+r"(a30), [a31] "+r"(a31), [ew] "+r"(ew), [h] "+r"(h),     \
        [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3)
#endif

/* The sums [q][ch] (ch: c, c+1) over np key pairs of the four queries, h = H + c. dense: every
 * pair in order, 4 numerator words per pair; else the listed pairs, 5 words (+ the byte
 * offset of the pair's first row). On Cortex-M the loop is one asm block: 8 sums, 2 pointers
 * and 4 temporaries fill the 14 allocatable registers (GCC's own allocation spilled sums);
 * 15 (dense) or 17 (listed) instructions per 16 MACs, + 4 of loop per 128. Its own function
 * so that nothing else needs a register around the asm. out[q][c, c+1] (rows of D4) <- the
 * sums (+ el[q] hl[c, c+1]: the last key of an odd T, el = NULL if even) times az[q]. */
static __attribute__((noinline)) void sums4(float *restrict out, const int8_t *h,
                                            const uint32_t *ew, uint32_t np, int dense,
                                            const float *restrict az,
                                            const int32_t *restrict el,
                                            const int8_t *restrict hl) {
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0, a20 = 0, a21 = 0, a30 = 0, a31 = 0;
    const uint32_t words = dense ? 4u : 5u;
    const uint32_t *mid = ew + words * (np & 7u); /* np % 8 pairs one by one, then by 8 */
    const uint32_t *end = mid + words * (np & ~7u);
    /* GCC only: the asm loop takes 13 core registers, more than clang leaves to inline asm (it
     * keeps r7 as the frame pointer); clang compiles the C loop below, with the same sums */
#if EBQ_CM_NATIVE && defined(__GNUC__) && !defined(__clang__)
    uint32_t t0, t1, t2, t3;
/* BODY per pass (the loop's 4 instructions: over 128 MACs in the eight-pair loop), the list
 * pointer moved on by STEP bytes, until STOP */
#define EBQ_SUMS4_LOOP(STOP, BODY, STEP)                                                   \
    __asm__ volatile("1:\n\t" BODY "adds %[ew], %[ew], #" #STEP "\n\t"                     \
                     "ldr %[t0], %[stop]\n\t"                                               \
                     "cmp %[ew], %[t0]\n\t"                                                 \
                     "bne 1b"                                                              \
                     : EBQ_SUMS4_OUT                                                       \
                     : [stop] "m"(STOP)                                                    \
                     : "cc", "memory")
    if (ew != mid && dense)
        EBQ_SUMS4_LOOP(mid, EBQ_DENSE_ASM(0, 0) "add %[h], %[h], #256\n\t", 16);
    else if (ew != mid)
        EBQ_SUMS4_LOOP(mid, EBQ_LISTED_ASM(0), 20);
    if (ew != end && dense)
        EBQ_SUMS4_LOOP(end, EBQ_DENSE_ASM(0, 0) EBQ_DENSE_ASM(16, 256) EBQ_DENSE_ASM(32, 512)
                       EBQ_DENSE_ASM(48, 768) EBQ_DENSE_ASM(64, 1024) EBQ_DENSE_ASM(80, 1280)
                       EBQ_DENSE_ASM(96, 1536) EBQ_DENSE_ASM(112, 1792)
                       "add %[h], %[h], #2048\n\t", 128);
    else if (ew != end)
        EBQ_SUMS4_LOOP(end, EBQ_LISTED_ASM(0) EBQ_LISTED_ASM(20) EBQ_LISTED_ASM(40)
                       EBQ_LISTED_ASM(60) EBQ_LISTED_ASM(80) EBQ_LISTED_ASM(100)
                       EBQ_LISTED_ASM(120) EBQ_LISTED_ASM(140), 160);
#undef EBQ_SUMS4_LOOP
#else
    (void)mid;
    for (; ew != end; ew += words) {
        if (dense) {
            PAIR4C(h, h + D4);
            h += 2u * D4;
        } else {
            PAIR4C(h + ew[4], h + ew[4] + D4);
        }
    }
#endif
    if (el) { /* the last key of an odd T, row hl */
        const int32_t h0 = hl[0], h1 = hl[1];
        a00 += el[0] * h0, a01 += el[0] * h1, a10 += el[1] * h0, a11 += el[1] * h1;
        a20 += el[2] * h0, a21 += el[2] * h1, a30 += el[3] * h0, a31 += el[3] * h1;
    }
    /* the float epilogue here, while the sums are still in registers */
    out[0] = (float)a00 * az[0], out[1] = (float)a01 * az[0];
    out[D4] = (float)a10 * az[1], out[D4 + 1u] = (float)a11 * az[1];
    out[2u * D4] = (float)a20 * az[2], out[2u * D4 + 1u] = (float)a21 * az[2];
    out[3u * D4] = (float)a30 * az[3], out[3u * D4 + 1u] = (float)a31 * az[3];
}

/* a[q][c] = sum_j e[q][j] H[j][c] * az[q] for the four rows q (numerators stride T, outputs
 * stride D4), every channel pair; T <= MAXT */
static __attribute__((noinline)) void sums42(float *a, const int16_t *restrict e,
                                             const float az[4], const int8_t *restrict H,
                                             uint32_t T) {
    /* the dense list (4 words per pair) at ew + pairs + 5, built first; the listed one (5 words
     * per non-zero pair) from ew on, built from it only when it pays: its entry k ends at word
     * 5k + 5 <= pairs + 5 + 4(k + 1), before the dense entries not read yet */
    uint32_t ew[5u * (MAXT / 2u) + 5u];
    const uint32_t pairs = T / 2u, odd = T & 1u; /* the last key of an odd T, alone */
    const int16_t *e1 = e + T, *e2 = e1 + T, *e3 = e2 + T;
    uint32_t *dw = ew + pairs + 5u, np = 0;
    for (uint32_t p = 0; p < pairs; p++) {
        const uint32_t w0 = ebq_cm_ld32(e + 2u * p), w1 = ebq_cm_ld32(e1 + 2u * p);
        const uint32_t w2 = ebq_cm_ld32(e2 + 2u * p), w3 = ebq_cm_ld32(e3 + 2u * p);
        dw[4u * p] = w0, dw[4u * p + 1u] = w1, dw[4u * p + 2u] = w2, dw[4u * p + 3u] = w3;
        np += (w0 | w1 | w2 | w3) != 0u;
    }
    /* a listed pair costs 17 instructions, one of the dense walk 15 */
    const int dense = 17u * np >= 15u * pairs;
    if (!dense) {
        uint32_t *w = ew;
        for (uint32_t p = 0; p < pairs; p++) {
            const uint32_t w0 = dw[4u * p], w1 = dw[4u * p + 1u];
            const uint32_t w2 = dw[4u * p + 2u], w3 = dw[4u * p + 3u];
            if ((w0 | w1 | w2 | w3) != 0u)
                w[0] = w0, w[1] = w1, w[2] = w2, w[3] = w3, w[4] = 2u * p * D4, w += 5;
        }
    }
    const int8_t *hl = H + (size_t)(T - 1u) * D4;
    const int32_t el[4] = {odd ? e[T - 1u] : 0, odd ? e1[T - 1u] : 0, odd ? e2[T - 1u] : 0,
                           odd ? e3[T - 1u] : 0};
    for (uint32_t c = 0; c < D4; c += 2u)
        sums4(a + c, H + c, dense ? dw : ew, dense ? pairs : np, dense, az, odd ? el : 0,
              hl + c);
}

/* a[n][d] <- e[n][T] . H[T][d] / Z[n] (+ float outlier channels) */
void ebq_attn_sum(float *restrict a, const int16_t *restrict e, const int32_t *restrict Z,
                  uint32_t n, const int8_t *restrict H, const uint16_t *restrict HO,
                  uint32_t ho_stride, uint32_t T, uint32_t d, float h_scale,
                  const uint16_t *restrict idx, uint32_t n_idx) {
    for (uint32_t i = 0; i < n;) {
        /* four rows at a time at the default width, else two; a lone last row pairs with
         * itself (computed twice, identical values) */
        const uint32_t nq = (n - i >= 4u && d == D4 && T <= MAXT) ? 4u : (n - i >= 2u) ? 2u : 1u;
        const uint32_t i1 = i + nq - 1u;
        float az[4];
        for (uint32_t k = 0; k < nq; k++)
            az[k] = (Z[i + k] > 0) ? h_scale / (float)Z[i + k] : 0.0f;
        if (nq == 4u) {
            sums42(a + (size_t)i * d, e + (size_t)i * T, az, H, T);
        } else {
            float *a0 = a + (size_t)i * d, *a1 = a + (size_t)i1 * d;
            const int16_t *e0 = e + (size_t)i * T, *e1 = e + (size_t)i1 * T;
            sums22(a0, a1, H, e0, e1, T, d, az[0], az[nq - 1u]);
        }
        for (uint32_t k = i; k <= i1; k++) {
            float *ak = a + (size_t)k * d;
            const int16_t *ek = e + (size_t)k * T;
            if (d & 1u) { /* odd width: the last channel alone */
                int32_t acc = 0;
                for (uint32_t j = 0; j < T; j++) acc += ek[j] * (int32_t)H[(size_t)j * d + d - 1u];
                ak[d - 1u] = (float)acc * az[k - i];
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
        i += nq;
    }
}
