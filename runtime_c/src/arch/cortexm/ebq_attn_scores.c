/* Attention scores for Cortex-M: four query rows x one key (1 x 4 tile, as the linear layer)
 * or two query rows x two keys per inner step (2 x 2 tile).
 *
 * The query rows are widened to int16 pairs once (interleaved, as the activations of
 * ebq_linear_q8); each key word is loaded and split with SXTB16 once for both queries:
 * 16 MACs = 2 LDR + 2 LDRD + 4 SXTB16 + 8 SMLAD. The integer dot products are exact and the
 * float epilogue (scale, outlier channels) runs in the ref's order: same bits as
 * src/ref/ebq_attn_scores.c. */
#include "ebq_cm.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

#define MAXD 256u /* widest widened query pair on the stack: 2 x 256 int16 = 1 KiB */

#define STEP(k)                                                                            \
    do {                                                                                   \
        const uint32_t q0e = qw[4u * (k)], q0o = qw[4u * (k) + 1u];                        \
        const uint32_t q1e = qw[4u * (k) + 2u], q1o = qw[4u * (k) + 3u];                   \
        const uint32_t ka = ebq_cm_ld32(h0 + 4u * (k));                                    \
        const uint32_t kae = ebq_cm_sxtb16(ka), kao = ebq_cm_sxtb16_ror8(ka);              \
        a00 = ebq_cm_smlad(kae, q0e, a00);                                                 \
        a00 = ebq_cm_smlad(kao, q0o, a00);                                                 \
        a10 = ebq_cm_smlad(kae, q1e, a10);                                                 \
        a10 = ebq_cm_smlad(kao, q1o, a10);                                                 \
        const uint32_t kb = ebq_cm_ld32(h1 + 4u * (k));                                    \
        const uint32_t kbe = ebq_cm_sxtb16(kb), kbo = ebq_cm_sxtb16_ror8(kb);              \
        a01 = ebq_cm_smlad(kbe, q0e, a01);                                                 \
        a01 = ebq_cm_smlad(kbo, q0o, a01);                                                 \
        a11 = ebq_cm_smlad(kbe, q1e, a11);                                                 \
        a11 = ebq_cm_smlad(kbo, q1o, a11);                                                 \
    } while (0)

/* acc[query][key] for key pairs (j, j+1), j < T - 1, stepping by 2; d % 32 == 0. Inlined
 * with constant d for the default width: the second key and every column step are then
 * immediate offsets of one key pointer, and the column loop unrolls. */
static inline __attribute__((always_inline)) void pairs22_body(
    float *restrict s0, float *restrict s1, const uint32_t *restrict qw0,
    const int8_t *restrict H, uint32_t T, uint32_t d, float qs0, float qs1) {
    const int8_t *hp = H;
    for (uint32_t j = 0; j + 1u < T; j += 2u, hp += 2u * d) {
        const uint32_t *qw = EBQ_CM_OPAQUE(qw0); /* else GCC hoists the query out of the loop */
        const int8_t *h0 = hp;
        int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
#pragma GCC unroll 4
        for (uint32_t c = 0; c < d; c += 32u, h0 += 32, qw += 32) {
            const int8_t *h1 = h0 + d;
            STEP(0u); STEP(1u); STEP(2u); STEP(3u);
            STEP(4u); STEP(5u); STEP(6u); STEP(7u);
        }
        s0[j] = (float)a00 * qs0, s0[j + 1u] = (float)a01 * qs0;
        s1[j] = (float)a10 * qs1, s1[j + 1u] = (float)a11 * qs1;
    }
}

static __attribute__((noinline)) void pairs22(float *restrict s0, float *restrict s1,
                                              const uint32_t *restrict qw0,
                                              const int8_t *restrict H, uint32_t T,
                                              uint32_t d, float qs0, float qs1) {
    if (d == 128u) /* the default d_model */
        pairs22_body(s0, s1, qw0, H, T, 128u, qs0, qs1);
    else
        pairs22_body(s0, s1, qw0, H, T, d, qs0, qs1);
}

/* one 4-column step of key row h x the four queries in qw (ebq_cm.h) */
#define STEP4(k) EBQ_CM_STEP14(k, h, qw)

#if EBQ_CM_NATIVE && defined(__GNUC__) && !defined(__clang__)
#define EBQ_K14_ASM 1
/* One key row (128 columns, word-aligned) x the four queries in asm: per 8 columns the key's
 * two words in one LDRD, each split in place (SXTB16 ror 8 into o, then SXTB16 over the
 * word), four LDRD of widened query pairs per word: 29 instructions per 32 MACs (GCC, given
 * the LDRD in C, spilled). GCC only, as sums4 in ebq_attn_sum.c. */
#define K14_Q(g, hf, q, a, kw)                                                             \
    "ldrd %[xa], %[xb], [%[qw], #" #g "*64+" #hf "*32+" #q "*8]\n\t"                       \
    "smlad %[" #a "], %[" #kw "], %[xa], %[" #a "]\n\t"                                    \
    "smlad %[" #a "], %[o], %[xb], %[" #a "]\n\t"
/* the first step of a sum: SMUAD (no accumulator to clear) */
#define K14_Q0(q, a)                                                                       \
    "ldrd %[xa], %[xb], [%[qw], #" #q "*8]\n\t"                                            \
    "smuad %[" #a "], %[k0], %[xa]\n\t"                                                    \
    "smlad %[" #a "], %[o], %[xb], %[" #a "]\n\t"
#define K14_SPLIT(kw) "sxtb16 %[o], %[" #kw "], ror #8\n\t" "sxtb16 %[" #kw "], %[" #kw "]\n\t"
#define K14_W(g, hf, kw)                                                                   \
    K14_SPLIT(kw) K14_Q(g, hf, 0, a0, kw) K14_Q(g, hf, 1, a1, kw) K14_Q(g, hf, 2, a2, kw)  \
        K14_Q(g, hf, 3, a3, kw)
#define K14_G(g) "ldrd %[k0], %[k1], [%[h], #" #g "*8]\n\t" K14_W(g, 0, k0) K14_W(g, 1, k1)
#define K14_G0                                                                             \
    "ldrd %[k0], %[k1], [%[h]]\n\t" K14_SPLIT(k0) K14_Q0(0, a0) K14_Q0(1, a1) K14_Q0(2, a2) \
        K14_Q0(3, a3) K14_W(0, 1, k1)
static inline __attribute__((always_inline)) void key128_asm(int32_t acc[4],
                                                             const int8_t *h,
                                                             const uint32_t *qw) {
    int32_t a0, a1, a2, a3;
    uint32_t k0, k1, o, xa, xb;
    __asm__(K14_G0 K14_G(1) K14_G(2) K14_G(3) K14_G(4) K14_G(5) K14_G(6) K14_G(7)
            K14_G(8) K14_G(9) K14_G(10) K14_G(11) K14_G(12) K14_G(13) K14_G(14) K14_G(15)
            : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [k0] "=&r"(k0),
              [k1] "=&r"(k1), [o] "=&r"(o), [xa] "=&r"(xa), [xb] "=&r"(xb)
            : [h] "r"(h), [qw] "r"(qw)
            : "memory");
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}
#undef K14_G0
#undef K14_G
#undef K14_W
#undef K14_SPLIT
#undef K14_Q0
#undef K14_Q
#else
#define EBQ_K14_ASM 0
#endif

/* s[q][j] for four queries (rows of s, stride T) and every key; d % 32 == 0. Inlined with
 * constant d for the default width: every column step is an immediate offset and the 32
 * steps unroll. k128: d = 128 with word-aligned rows, the asm step. */
static inline __attribute__((always_inline)) void keys14_body(float *restrict s,
                                                              const uint32_t *restrict qw0,
                                                              const int8_t *restrict H,
                                                              uint32_t T, uint32_t d,
                                                              const float *restrict qs,
                                                              int k128) {
    const float qs0 = qs[0], qs1 = qs[1], qs2 = qs[2], qs3 = qs[3];
    const int8_t *hp = H;
    for (uint32_t j = 0; j < T; j++, hp += d) {
        const uint32_t *qw = EBQ_CM_OPAQUE(qw0); /* else GCC hoists the queries */
        const int8_t *h = hp;
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        (void)k128;
#if EBQ_K14_ASM
        if (k128) {
            int32_t acc[4];
            key128_asm(acc, h, qw);
            a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
        } else
#endif
        {
#pragma GCC unroll 4
            for (uint32_t c = 0; c < d; c += 32u, h += 32, qw += 64) {
                STEP4(0u); STEP4(1u); STEP4(2u); STEP4(3u);
                STEP4(4u); STEP4(5u); STEP4(6u); STEP4(7u);
            }
        }
        /* one pointer, the rows at run-time offsets (GCC kept four, spilled to the stack) */
        float *sj = EBQ_CM_OPAQUE(s) + j;
        sj[0] = (float)a0 * qs0, sj[T] = (float)a1 * qs1;
        sj[2u * T] = (float)a2 * qs2, sj[3u * T] = (float)a3 * qs3;
    }
}

static __attribute__((noinline)) void keys14(float *restrict s, const uint32_t *restrict qw,
                                             const int8_t *restrict H, uint32_t T, uint32_t d,
                                             const float *restrict qs) {
    /* the default d_model, on arena rows (16-byte aligned); else the C steps, with constant d
     * where there is no asm */
    if (d == 128u && EBQ_K14_ASM && ((uintptr_t)H & 3u) == 0u)
        keys14_body(s, qw, H, T, 128u, qs, 1);
    else if (d == 128u && !EBQ_K14_ASM)
        keys14_body(s, qw, H, T, 128u, qs, 0);
    else
        keys14_body(s, qw, H, T, d, qs, 0);
}

/* one query (widened, not interleaved: 2 words per 4 columns) against key j */
static int32_t dot1(const uint32_t *restrict qw, uint32_t words, const int8_t *restrict h,
                    uint32_t d) {
    int32_t acc = 0;
    for (uint32_t c = 0; c < d; c += 4u, qw += words) {
        const uint32_t k = ebq_cm_ld32(h + c);
        acc = ebq_cm_smlad(ebq_cm_sxtb16(k), qw[0], acc);
        acc = ebq_cm_smlad(ebq_cm_sxtb16_ror8(k), qw[1], acc);
    }
    return acc;
}

/* s[n][T] <- q[n][d] . H[T][d] (+ float outlier channels) */
void ebq_attn_scores(float *restrict s, const int8_t *restrict q, const float *restrict qs,
                     const float *restrict qo, uint32_t n_o, uint32_t n,
                     const int8_t *restrict H, const uint16_t *restrict HO, uint32_t ho_stride,
                     const uint8_t *restrict segs, uint32_t T, uint32_t d) {
    for (uint32_t i = 0; i < n;) {
        /* four queries at a time when their widened rows fit, else two */
        const uint32_t nq = (n - i >= 4u && d % 32u == 0u && 2u * d <= MAXD) ? 4u
                            : (n - i >= 2u)                                 ? 2u
                                                                            : 1u;
        float *s0 = s + (size_t)i * T, *s1 = s0 + T;
        if (d % 4u != 0u || d > MAXD) { /* any other width: the reference loop */
            for (uint32_t k = i; k < i + nq; k++) {
                const int8_t *qk = q + (size_t)k * d;
                for (uint32_t j = 0; j < T; j++) {
                    int32_t acc = 0;
                    for (uint32_t c = 0; c < d; c++) acc += (int32_t)qk[c] * (int32_t)H[(size_t)j * d + c];
                    s[(size_t)k * T + j] = (float)acc * qs[k];
                }
            }
        } else {
            uint32_t qw[MAXD]; /* [c/4][query][2] */
            const uint32_t words = 2u * nq;
            for (uint32_t c = 0; c < d; c += 4u) {
                for (uint32_t k = 0; k < nq; k++) {
                    const uint32_t v = ebq_cm_ld32(q + (size_t)(i + k) * d + c);
                    qw[(c / 4u) * words + 2u * k] = ebq_cm_sxtb16(v);
                    qw[(c / 4u) * words + 2u * k + 1u] = ebq_cm_sxtb16_ror8(v);
                }
            }
            uint32_t j = 0;
            if (nq == 4u) {
                keys14(s0, qw, H, T, d, qs + i);
                j = T;
            } else if (nq == 2u && d % 32u == 0u) {
                pairs22(s0, s1, qw, H, T, d, qs[i], qs[i + 1u]);
                j = T & ~1u;
            }
            for (; j < T; j++)
                for (uint32_t k = 0; k < nq; k++)
                    s[(size_t)(i + k) * T + j] =
                        (float)dot1(qw + 2u * k, words, H + (size_t)j * d, d) * qs[i + k];
        }
        if (n_o) { /* outlier channels in float, after the integer part (ref order) */
            for (uint32_t k = i; k < i + nq; k++) {
                const float *qok = qo + (size_t)k * n_o;
                float *sk = s + (size_t)k * T;
                for (uint32_t j = 0; j < T; j++) {
                    float v = sk[j];
                    for (uint32_t m = 0; m < n_o; m++)
                        v = v + qok[m] * ebq_cm_f16(HO[(size_t)j * ho_stride + m]);
                    sk[j] = v;
                }
            }
        }
        i += nq;
    }
    (void)segs; /* masked keys are scored too (cheaper than testing); softmax skips them */
}
