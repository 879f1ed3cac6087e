/* softmax(s) @ V tiles for x86-64 CPUs with AVX2 but without AVX-512 (see ebq_vec.h): 2 query
 * rows per pass over the keys, 32 channels in the lanes. Four keys at a time: their rows of H
 * are byte-interleaved per channel (VPUNPCKL/HBW then WD, within 128-bit halves: the lanes hold
 * channels (0-3 | 16-19), (4-7 | 20-23), (8-11 | 24-27), (12-15 | 28-31), put back in order at
 * the end), and VPMADDUBSW multiplies them with the query's four numerators broadcast: e is
 * 0..127 (checked), so e is the unsigned side and every pair sum stays within +-32512; VPMADDWD
 * adds the pairs into int32. Groups of four keys whose numerators are 0 in both rows are skipped
 * (exact: they add nothing). Same integer sums and float steps as src/ref/ebq_attn_sum.c. */
#include "ebq_vec.h"

#if EBQ_VEC_AVX2_TILES
#include <immintrin.h>

#include "embbert/kernels.h"
#include "embbert/numerics.h"

#define MAXT 4096u /* keys of the tiles */

static inline __m256i row32(const int8_t *restrict H, uint32_t r, uint32_t T, uint32_t d,
                            uint32_t c0) {
    if (r >= T) return _mm256_setzero_si256();
    return _mm256_loadu_si256((const __m256i *)(const void *)(H + (size_t)r * d + c0));
}

/* a[i][c0 .. c0+31] for rows i < n (1 or 2, a constant after inlining) */
static inline __attribute__((always_inline)) void block(float *restrict a,
                                                        uint32_t (*eb)[MAXT / 4u],
                                                        const int32_t *restrict Z,
                                                        const int8_t *restrict H, uint32_t T,
                                                        uint32_t d, uint32_t c0, float h_scale,
                                                        const uint32_t n) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc[2][4];
    for (uint32_t i = 0; i < 2u; i++)
        for (uint32_t k = 0; k < 4u; k++) acc[i][k] = _mm256_setzero_si256();
    for (uint32_t g = 0; g < (T + 3u) / 4u; g++) {
        if ((eb[0][g] | eb[n - 1u][g]) == 0u) continue;
        const uint32_t r = 4u * g;
        const __m256i h0 = row32(H, r, T, d, c0), h1 = row32(H, r + 1u, T, d, c0);
        const __m256i h2 = row32(H, r + 2u, T, d, c0), h3 = row32(H, r + 3u, T, d, c0);
        const __m256i p0 = _mm256_unpacklo_epi8(h0, h1), p1 = _mm256_unpackhi_epi8(h0, h1);
        const __m256i q0 = _mm256_unpacklo_epi8(h2, h3), q1 = _mm256_unpackhi_epi8(h2, h3);
        const __m256i x[4] = {_mm256_unpacklo_epi16(p0, q0), _mm256_unpackhi_epi16(p0, q0),
                              _mm256_unpacklo_epi16(p1, q1), _mm256_unpackhi_epi16(p1, q1)};
        for (uint32_t i = 0; i < n; i++) {
            const __m256i e = _mm256_set1_epi32((int32_t)eb[i][g]);
            for (uint32_t k = 0; k < 4u; k++)
                acc[i][k] = _mm256_add_epi32(
                    acc[i][k], _mm256_madd_epi16(_mm256_maddubs_epi16(e, x[k]), ones));
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        float *ai = a + (size_t)i * d + c0;
        if (Z[i] <= 0) {
            for (uint32_t L = 0; L < 4u; L++) _mm256_storeu_ps(ai + 8u * L, _mm256_setzero_ps());
            continue;
        }
        const __m256 az = _mm256_set1_ps(h_scale / (float)Z[i]);
        const __m256i s[4] = {_mm256_permute2x128_si256(acc[i][0], acc[i][1], 0x20),
                              _mm256_permute2x128_si256(acc[i][2], acc[i][3], 0x20),
                              _mm256_permute2x128_si256(acc[i][0], acc[i][1], 0x31),
                              _mm256_permute2x128_si256(acc[i][2], acc[i][3], 0x31)};
        for (uint32_t L = 0; L < 4u; L++)
            _mm256_storeu_ps(ai + 8u * L, _mm256_mul_ps(_mm256_cvtepi32_ps(s[L]), az));
    }
}

int ebq_vec_attn_sum_tiles8(float *restrict a, const int16_t *restrict e,
                            const int32_t *restrict Z, uint32_t n, const int8_t *restrict H,
                            uint32_t T, uint32_t d, float h_scale) {
    if (n == 0u || d % 32u != 0u || T > MAXT) return 0;
    int16_t bad = 0;
    for (uint32_t j = 0; j < n * T; j++) bad |= (int16_t)(e[j] & ~127);
    if (bad) return 0;
    uint32_t eb[2][MAXT / 4u];
    for (uint32_t i = 0; i < n; i += 2u) {
        const uint32_t m = n - i < 2u ? n - i : 2u;
        for (uint32_t k = 0; k < m; k++) ebq_vec_pack_e(eb[k], e + (size_t)(i + k) * T, T);
        for (uint32_t c0 = 0; c0 < d; c0 += 32u) {
            if (m == 2u)
                block(a + (size_t)i * d, eb, Z + i, H, T, d, c0, h_scale, 2u);
            else
                block(a + (size_t)i * d, eb, Z + i, H, T, d, c0, h_scale, 1u);
        }
    }
    return 1;
}
#endif
