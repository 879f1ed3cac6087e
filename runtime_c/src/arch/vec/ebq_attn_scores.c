/* Attention scores for hosts with SIMD (see ebq_vec.h): the two query rows are widened to int16
 * once and each key row is loaded once for both (one vectorized loop, two sums); first, 4 query
 * rows x 8 keys (AVX2, the int8 tiles of ebq_vec_avx2.h) or x 16 keys (AVX-512 VNNI) at a time.
 * Same bits as src/ref/ebq_attn_scores.c. */
#include "ebq_vec.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

#define MAXD 1024u

#if EBQ_VEC_AVX2_TILES
#include "ebq_vec_avx2.h"

#define NQ 4u /* query rows per pass of the AVX2 tiles */

static inline __attribute__((always_inline)) void key_sums(__m256i acc[NQ],
                                                           const int8_t *restrict Hj,
                                                           const int8_t *restrict qi, uint32_t d,
                                                           const uint32_t nq) {
    for (uint32_t t = 0; t < nq; t++) acc[t] = _mm256_setzero_si256();
    for (uint32_t c0 = 0; c0 < d; c0 += 32u) ebq_vec_dots8(acc, Hj + c0, d, qi + c0, d, 32u, nq);
}

/* AVX2 tiles (without AVX-512): 8 keys in the lanes x up to 4 query rows, the ref's
 * (float)acc * qs for keys j < 8 * (T / 8), padded keys left unwritten; returns those keys */
static uint32_t tiles8(float *restrict s, const int8_t *restrict q, const float *restrict qs,
                       uint32_t n, const int8_t *restrict H, const uint8_t *restrict segs,
                       uint32_t T, uint32_t d) {
    if (d % 32u != 0u || ebq_vec_has_min(q, n * d)) return 0;
    const uint32_t T8 = T & ~7u;
    for (uint32_t i = 0; i < n; i += NQ) {
        const uint32_t nq = n - i < NQ ? n - i : NQ;
        for (uint32_t j = 0; j < T8; j += 8u) {
            __m256i acc[NQ];
            switch (nq) { /* constant row counts: the sums stay in registers */
            case 4u: key_sums(acc, H + (size_t)j * d, q + (size_t)i * d, d, 4u); break;
            case 3u: key_sums(acc, H + (size_t)j * d, q + (size_t)i * d, d, 3u); break;
            case 2u: key_sums(acc, H + (size_t)j * d, q + (size_t)i * d, d, 2u); break;
            default: key_sums(acc, H + (size_t)j * d, q + (size_t)i * d, d, 1u); break;
            }
            const __m256i sg = _mm256_cvtepu8_epi32(
                _mm_loadl_epi64((const __m128i *)(const void *)(segs + j)));
            const __m256i live = _mm256_xor_si256(_mm256_cmpeq_epi32(sg, _mm256_setzero_si256()),
                                                  _mm256_set1_epi32(-1));
            for (uint32_t t = 0; t < nq; t++)
                _mm256_maskstore_ps(s + (size_t)(i + t) * T + j, live,
                                    _mm256_mul_ps(_mm256_cvtepi32_ps(acc[t]),
                                                  _mm256_set1_ps(qs[i + t])));
        }
    }
    return T8;
}
#endif

#if EBQ_VEC_AVX512
#include "ebq_vec_avx512.h"

#define NQ5 4u /* query rows per pass of the AVX-512 tiles */

/* acc[t] lane r = sum over c < d of H[r][c] q_t[c], 16 keys r: per 32 columns the key rows are
 * transposed into 4-byte groups (ebq_vec_wt32) and VPDPBUSD takes them as unsigned H + 128 with
 * the query's group broadcast; acc starts at -128 sum(q_t) (exact int32 sums) */
static inline __attribute__((always_inline)) void key_sums16(__m512i acc[NQ5],
                                                             const int8_t *restrict Hj,
                                                             const int8_t *restrict qi,
                                                             const int32_t *restrict cq,
                                                             uint32_t d, const uint32_t nq) {
    for (uint32_t t = 0; t < nq; t++) acc[t] = _mm512_set1_epi32(-cq[t]);
    for (uint32_t c0 = 0; c0 < d; c0 += 32u) {
        __m512i g[8];
        ebq_vec_wt32(g, Hj + c0, d);
        for (uint32_t k = 0; k < 8u; k++) {
            g[k] = _mm512_xor_si512(g[k], _mm512_set1_epi8((char)0x80));
            for (uint32_t t = 0; t < nq; t++)
                acc[t] = _mm512_dpbusd_epi32(acc[t], g[k],
                                             ebq_vec_bcast32(qi + (size_t)t * d + c0 + 4u * k));
        }
    }
}

/* AVX-512 VNNI tiles: 16 keys in the lanes x up to 4 query rows, the ref's (float)acc * qs for
 * keys j < 16 * (T / 16), padded keys left unwritten; returns those keys */
static uint32_t tiles16(float *restrict s, const int8_t *restrict q, const float *restrict qs,
                        uint32_t n, const int8_t *restrict H, const uint8_t *restrict segs,
                        uint32_t T, uint32_t d) {
    if (d % 32u != 0u) return 0;
    const uint32_t T16 = T & ~15u;
    for (uint32_t i = 0; i < n; i += NQ5) {
        const uint32_t nq = n - i < NQ5 ? n - i : NQ5;
        int32_t cq[NQ5];
        for (uint32_t t = 0; t < nq; t++) {
            int32_t sum = 0;
            for (uint32_t c = 0; c < d; c++) sum += q[(size_t)(i + t) * d + c];
            cq[t] = 128 * sum;
        }
        const int8_t *qi = q + (size_t)i * d;
        for (uint32_t j = 0; j < T16; j += 16u) {
            __m512i acc[NQ5];
            switch (nq) { /* constant row counts: the sums stay in registers */
            case 4u: key_sums16(acc, H + (size_t)j * d, qi, cq, d, 4u); break;
            case 3u: key_sums16(acc, H + (size_t)j * d, qi, cq, d, 3u); break;
            case 2u: key_sums16(acc, H + (size_t)j * d, qi, cq, d, 2u); break;
            default: key_sums16(acc, H + (size_t)j * d, qi, cq, d, 1u); break;
            }
            const __m128i sg = _mm_loadu_si128((const __m128i *)(const void *)(segs + j));
            const __mmask16 live = _mm_test_epi8_mask(sg, sg);
            for (uint32_t t = 0; t < nq; t++)
                _mm512_mask_storeu_ps(s + (size_t)(i + t) * T + j, live,
                                      _mm512_mul_ps(_mm512_cvtepi32_ps(acc[t]),
                                                    _mm512_set1_ps(qs[i + t])));
        }
    }
    return T16;
}
#endif

/* s[n][T] <- q[n][d] . H[T][d] (+ float outlier channels) */
void ebq_attn_scores(float *restrict s, const int8_t *restrict q, const float *restrict qs,
                     const float *restrict qo, uint32_t n_o, uint32_t n,
                     const int8_t *restrict H, const uint16_t *restrict HO, uint32_t ho_stride,
                     const uint8_t *restrict segs, uint32_t T, uint32_t d) {
    int16_t qw[2][MAXD];
    uint32_t j0 = 0; /* keys done by the tiles for every row */
#if EBQ_VEC_AVX2_TILES
    j0 = tiles8(s, q, qs, n, H, segs, T, d);
#elif EBQ_VEC_AVX512
    j0 = tiles16(s, q, qs, n, H, segs, T, d);
#endif
    for (uint32_t i = 0; i < n; i += 2u) {
        /* a lone last query pairs with itself (computed twice, stored once) */
        const uint32_t nq = (n - i >= 2u) ? 2u : 1u, i1 = i + nq - 1u;
        float *s0 = s + (size_t)i * T, *s1 = s + (size_t)i1 * T;
        if (d <= MAXD) {
            for (uint32_t c = 0; c < d; c++)
                qw[0][c] = q[(size_t)i * d + c], qw[1][c] = q[(size_t)i1 * d + c];
            for (uint32_t j = j0; j < T; j++) {
                if (segs[j] == 0) continue; /* padded key: never attended */
                int32_t acc[2];
                ebq_vec_dot2(acc, H + (size_t)j * d, qw[0], qw[1], d);
                s1[j] = (float)acc[1] * qs[i1];
                s0[j] = (float)acc[0] * qs[i];
            }
        } else {
            for (uint32_t k = i; k <= i1; k++) {
                const int8_t *qk = q + (size_t)k * d;
                for (uint32_t j = j0; j < T; j++) {
                    if (segs[j] == 0) continue;
                    int32_t acc = 0;
                    for (uint32_t c = 0; c < d; c++)
                        acc += (int32_t)qk[c] * (int32_t)H[(size_t)j * d + c];
                    s[(size_t)k * T + j] = (float)acc * qs[k];
                }
            }
        }
        if (n_o) { /* outlier channels in float, after the integer part (ref order) */
            for (uint32_t k = i; k <= i1; k++) {
                const float *qok = qo + (size_t)k * n_o;
                float *sk = s + (size_t)k * T;
                for (uint32_t j = 0; j < T; j++) {
                    if (segs[j] == 0) continue;
                    float v = sk[j];
                    for (uint32_t m = 0; m < n_o; m++)
                        v = v + qok[m] * ebq_vec_f16(HO[(size_t)j * ho_stride + m]);
                    sk[j] = v;
                }
            }
        }
    }
}
