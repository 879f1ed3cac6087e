/* Linear layer tiles for x86-64 CPUs with AVX2 but without AVX-512 (see ebq_vec.h): 8 output
 * rows x up to 4 token rows, the 8 rows in the 8 lanes of a vector, so that no horizontal sum
 * is needed. Per block, the 8 weight rows are transposed in registers into vectors whose lane r
 * holds 4 consecutive bytes of row r (shared by every token); VPMADDUBSW multiplies |w| with
 * the token's 4 bytes broadcast, each negated where w < 0 (VPSIGNB), and VPMADDWD adds the
 * pairs into int32: with x != -128 (checked; the runtime's quantizers give +-127) every pair
 * sum stays within +-32512, so the block sums are exact. The float steps are the ref's, lane by
 * lane: acc_f += (float)sum * scale, * xs, + outliers, + bias. Same bits as
 * src/ref/ebq_linear_q8.c. */
#include "ebq_vec.h"

#if EBQ_VEC_AVX2_TILES
#include <string.h>

#include "ebq_vec_avx2.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

#define NT 4u       /* token rows per pass */

static inline __m256i quad(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm256_set1_epi32(v);
}

/* lane r = FP16 value m of row r (rows of `per` values, contiguous) as float */
static inline __m256 column(const uint16_t *restrict s, uint32_t per, uint32_t m) {
    uint16_t v[8];
    for (uint32_t r = 0; r < 8u; r++) v[r] = s[(size_t)r * per + m];
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)v));
}

/* f[t] lane r = the ref's acc_f of row o + r for token t (nt token rows x[t][cols]) */
static inline __attribute__((always_inline)) void tile(__m256 f[NT], const int8_t *x,
                                                       const ebq_qtensor *restrict w, uint32_t o,
                                                       const uint32_t nt) {
    const uint32_t cols = w->cols, bl = w->block, nb = w->n_blocks;
    const __m256i ones = _mm256_set1_epi16(1);
    for (uint32_t t = 0; t < nt; t++) f[t] = _mm256_setzero_ps();
    for (uint32_t b = 0; b < nb; b++) {
        __m256i acc[NT], g[8];
        for (uint32_t t = 0; t < nt; t++) acc[t] = _mm256_setzero_si256();
        ebq_vec_wt8(g, w->q + (size_t)o * cols + (size_t)b * bl, cols, bl);
        for (uint32_t j = 0; j < bl / 4u; j++) {
            const __m256i aw = _mm256_abs_epi8(g[j]); /* |w|: 0 .. 128, unsigned */
            for (uint32_t t = 0; t < nt; t++) {
                /* x * sign(w) (x != -128), |w| x sign(w) = w x: pairs within +-32512 */
                const __m256i sx = _mm256_sign_epi8(quad(x + (size_t)t * cols + b * bl + 4u * j),
                                                    g[j]);
                acc[t] = _mm256_add_epi32(acc[t],
                                          _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), ones));
            }
        }
        const __m256 sc = column(w->scale + (size_t)o * nb, nb, b);
        for (uint32_t t = 0; t < nt; t++)
            f[t] = _mm256_add_ps(f[t], _mm256_mul_ps(_mm256_cvtepi32_ps(acc[t]), sc));
    }
}

uint32_t ebq_vec_linear_tiles8(float *restrict y, const int8_t *restrict xq,
                               const float *restrict xs, const float *restrict xo, uint32_t n,
                               const ebq_qtensor *restrict w) {
    const uint32_t rows = w->rows, cols = w->cols, bl = w->block, no = w->n_outliers;
    if ((bl != 32u && bl != 16u) || cols != bl * w->n_blocks ||
        no > EBQ_VEC_MAXNO)
        return 0;
    int8_t bad = 0; /* an activation -128 (never made by the runtime's quantizers) */
    for (uint32_t c = 0; c < n * cols; c++) bad |= (int8_t)(xq[c] == -128);
    if (bad) return 0;
    for (uint32_t i = 0; i < n; i += NT) {
        const uint32_t nt = n - i < NT ? n - i : NT;
        const int8_t *x = xq + (size_t)i * cols;
        for (uint32_t o = 0; o + 8u <= rows; o += 8u) {
            __m256 f[NT];
            switch (nt) { /* constant token counts: the accumulators stay in registers */
            case 4u: tile(f, x, w, o, 4u); break;
            case 3u: tile(f, x, w, o, 3u); break;
            case 2u: tile(f, x, w, o, 2u); break;
            default: tile(f, x, w, o, 1u); break;
            }
            __m256 ow[EBQ_VEC_MAXNO]; /* outlier weight columns, converted */
            for (uint32_t m = 0; m < no; m++)
                ow[m] = column(w->outlier_w + (size_t)o * no, no, m);
            for (uint32_t t = 0; t < nt; t++) {
                const float *xot = no ? xo + (size_t)(i + t) * no : xo; /* xo may be NULL */
                __m256 v = _mm256_mul_ps(f[t], _mm256_set1_ps(xs[i + t]));
                for (uint32_t m = 0; m < no; m++)
                    v = _mm256_add_ps(v, _mm256_mul_ps(_mm256_set1_ps(xot[m]), ow[m]));
                if (w->bias) v = _mm256_add_ps(v, _mm256_loadu_ps(w->bias + o));
                _mm256_storeu_ps(y + (size_t)(i + t) * rows + o, v);
            }
        }
    }
    return rows & ~7u;
}
#endif
