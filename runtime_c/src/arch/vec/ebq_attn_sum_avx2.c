/* softmax(s) @ V tiles for x86-64 CPUs with AVX2 but without AVX-512 (see ebq_vec.h): up to 4
 * query rows in one pass over the keys, 16 channels in the lanes. Two keys at a time: their rows
 * of H are widened and interleaved per channel (VPUNPCKL/HWD: lanes hold channels (0-3, 8-11)
 * and (4-7, 12-15), put back in order at the end) and VPMADDWD multiplies them with the pair of
 * numerators of each query, broadcast. Key pairs whose numerators are 0 in every row are
 * skipped (exact: they add nothing). Same integer sums and float steps as
 * src/ref/ebq_attn_sum.c. */
#include "ebq_vec.h"

#if EBQ_VEC_AVX2_TILES
#include <immintrin.h>

#include "embbert/kernels.h"
#include "embbert/numerics.h"

#define MAXQ 4u    /* query rows per pass */
#define MAXT 2048u /* keys of the tiles */

static inline __m256i row16(const int8_t *restrict H, uint32_t r, uint32_t T, uint32_t d,
                            uint32_t c0) {
    if (r >= T) return _mm256_setzero_si256();
    return _mm256_cvtepi8_epi16(
        _mm_loadu_si128((const __m128i *)(const void *)(H + (size_t)r * d + c0)));
}

/* numerators (j, j+1) of one row as an int16 pair (0 past the last key) */
static inline int32_t pair(const int16_t *e, uint32_t j, uint32_t T) {
    const uint32_t lo = (uint16_t)e[j], hi = j + 1u < T ? (uint16_t)e[j + 1u] : 0u;
    return (int32_t)(lo | hi << 16);
}

static inline __attribute__((always_inline)) void sums(__m256i acc[MAXQ][2],
                                                       int32_t (*ep)[MAXT / 2u],
                                                       const uint32_t *live, uint32_t n_live,
                                                       const int8_t *restrict H, uint32_t T,
                                                       uint32_t d, uint32_t c0, const uint32_t n) {
    for (uint32_t i = 0; i < n; i++) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
    for (uint32_t k = 0; k < n_live; k++) {
        const uint32_t g = live[k];
        const __m256i h0 = row16(H, 2u * g, T, d, c0), h1 = row16(H, 2u * g + 1u, T, d, c0);
        const __m256i x0 = _mm256_unpacklo_epi16(h0, h1), x1 = _mm256_unpackhi_epi16(h0, h1);
        for (uint32_t i = 0; i < n; i++) {
            const __m256i e = _mm256_set1_epi32(ep[i][g]);
            acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(x0, e));
            acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(x1, e));
        }
    }
}

int ebq_vec_attn_sum_tiles8(float *restrict a, const int16_t *restrict e,
                            const int32_t *restrict Z, uint32_t n, const int8_t *restrict H,
                            uint32_t T, uint32_t d, float h_scale) {
    if (n > MAXQ || n == 0u || d % 16u != 0u || T > MAXT) return 0;
    int32_t ep[MAXQ][MAXT / 2u];
    uint32_t live[MAXT / 2u], n_live = 0;
    const uint32_t G = (T + 1u) / 2u;
    for (uint32_t g = 0; g < G; g++) {
        int32_t any = 0;
        for (uint32_t i = 0; i < n; i++) any |= ep[i][g] = pair(e + (size_t)i * T, 2u * g, T);
        live[n_live] = g;
        n_live += any != 0;
    }
    for (uint32_t c0 = 0; c0 < d; c0 += 16u) {
        __m256i acc[MAXQ][2];
        switch (n) { /* constant row counts: the sums stay in registers */
        case 4u: sums(acc, ep, live, n_live, H, T, d, c0, 4u); break;
        case 1u: sums(acc, ep, live, n_live, H, T, d, c0, 1u); break;
        default: sums(acc, ep, live, n_live, H, T, d, c0, n); break;
        }
        for (uint32_t i = 0; i < n; i++) {
            float *ai = a + (size_t)i * d + c0;
            if (Z[i] <= 0) {
                _mm256_storeu_ps(ai, _mm256_setzero_ps());
                _mm256_storeu_ps(ai + 8u, _mm256_setzero_ps());
                continue;
            }
            const __m256 az = _mm256_set1_ps(h_scale / (float)Z[i]);
            /* (0-3 | 8-11), (4-7 | 12-15) -> (0-7), (8-15) */
            const __m256i s0 = _mm256_permute2x128_si256(acc[i][0], acc[i][1], 0x20);
            const __m256i s1 = _mm256_permute2x128_si256(acc[i][0], acc[i][1], 0x31);
            _mm256_storeu_ps(ai, _mm256_mul_ps(_mm256_cvtepi32_ps(s0), az));
            _mm256_storeu_ps(ai + 8u, _mm256_mul_ps(_mm256_cvtepi32_ps(s1), az));
        }
    }
    return 1;
}
#endif
