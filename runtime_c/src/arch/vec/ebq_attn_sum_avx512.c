/* softmax(s) @ V tiles for CPUs with AVX-512 VNNI (see ebq_vec.h): both query rows in one pass
 * over the keys, 64 channels in the lanes. Four keys at a time: their rows of H are
 * byte-interleaved per channel (the layout of the conv tiles) and VPDPBUSD multiplies them with
 * the four numerators e (0..127: already unsigned bytes), broadcast. Groups of four keys whose
 * numerators are all 0 in both rows are skipped (exact: they add nothing). Same integer sums
 * and float steps as src/ref/ebq_attn_sum.c. */
#include "ebq_vec.h"

#if EBQ_VEC_AVX512
#include "ebq_vec_avx512.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

#define MAXT 4096u /* keys of the tiles */

static inline __m512i hrow(const int8_t *H, uint32_t r, uint32_t T, uint32_t d, uint32_t c0) {
    return r < T ? _mm512_loadu_si512(H + (size_t)r * d + c0) : _mm512_setzero_si512();
}

int ebq_vec_attn_sum_tiles(float *restrict a, const int16_t *restrict e,
                           const int32_t *restrict Z, uint32_t n, const int8_t *restrict H,
                           uint32_t T, uint32_t d, float h_scale) {
    if (n > 2u || n == 0u || d % 64u != 0u || T > MAXT) return 0;
    uint32_t eb[2][MAXT / 4u];
    int16_t bad = 0;
    for (uint32_t j = 0; j < (size_t)n * T; j++) bad |= (int16_t)(e[j] & ~127);
    if (bad) return 0;
    const uint32_t G = (T + 3u) / 4u;
    for (uint32_t i = 0; i < 2u; i++) ebq_vec_pack_e(eb[i], e + (size_t)(i % n) * T, T);
    for (uint32_t c0 = 0; c0 < d; c0 += 64u) {
        __m512i acc[2][4];
        for (uint32_t k = 0; k < 4u; k++)
            acc[0][k] = _mm512_setzero_si512(), acc[1][k] = _mm512_setzero_si512();
        for (uint32_t g = 0; g < G; g++) {
            if ((eb[0][g] | eb[1][g]) == 0u) continue;
            const uint32_t r = 4u * g;
            const __m512i h0 = hrow(H, r, T, d, c0), h1 = hrow(H, r + 1u, T, d, c0);
            const __m512i h2 = hrow(H, r + 2u, T, d, c0), h3 = hrow(H, r + 3u, T, d, c0);
            const __m512i p0 = _mm512_unpacklo_epi8(h0, h1), p1 = _mm512_unpackhi_epi8(h0, h1);
            const __m512i q0 = _mm512_unpacklo_epi8(h2, h3), q1 = _mm512_unpackhi_epi8(h2, h3);
            const __m512i x[4] = {_mm512_unpacklo_epi16(p0, q0), _mm512_unpackhi_epi16(p0, q0),
                                  _mm512_unpacklo_epi16(p1, q1), _mm512_unpackhi_epi16(p1, q1)};
            const __m512i e0 = _mm512_set1_epi32((int32_t)eb[0][g]);
            const __m512i e1 = _mm512_set1_epi32((int32_t)eb[1][g]);
            for (uint32_t k = 0; k < 4u; k++) {
                acc[0][k] = _mm512_dpbusd_epi32(acc[0][k], e0, x[k]);
                acc[1][k] = _mm512_dpbusd_epi32(acc[1][k], e1, x[k]);
            }
        }
        for (uint32_t i = 0; i < n; i++) {
            float *ai = a + (size_t)i * d + c0;
            __m512i s[4];
            ebq_vec_tr_lanes(s, acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
            if (Z[i] <= 0) {
                for (uint32_t L = 0; L < 4u; L++) _mm512_storeu_ps(ai + 16u * L, _mm512_setzero_ps());
                continue;
            }
            const __m512 az = _mm512_set1_ps(h_scale / (float)Z[i]);
            for (uint32_t L = 0; L < 4u; L++)
                _mm512_storeu_ps(ai + 16u * L, _mm512_mul_ps(_mm512_cvtepi32_ps(s[L]), az));
        }
    }
    return 1;
}
#endif
