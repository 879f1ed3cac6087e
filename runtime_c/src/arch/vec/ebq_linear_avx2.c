/* Linear layer tiles for x86-64 CPUs with AVX2 but without AVX-512 (see ebq_vec.h): 8 output
 * rows x up to 4 token rows, the 8 rows in the 8 lanes of a vector, so that no horizontal sum
 * is needed. Per block, the 8 weight rows are transposed in registers into vectors whose lane r
 * holds 4 consecutive bytes of row r, shared by every token (ebq_vec_dots8: exact int32 block
 * sums for activations != -128, which the runtime's quantizers never give; a call with one
 * takes the loops of ebq_linear_q8.c). The float steps are the ref's, lane by lane:
 * acc_f += (float)sum * scale, * xs, + outliers, + bias. Same bits as src/ref/ebq_linear_q8.c. */
#include "ebq_vec.h"

#if EBQ_VEC_AVX2_TILES
#include "ebq_vec_avx2.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

#define NT 4u       /* token rows per pass */

/* lane r = FP16 value m of row r (rows of `per` values, contiguous) as float */
static inline __m256 column(const uint16_t *restrict s, uint32_t per, uint32_t m) {
    uint16_t v[8];
    for (uint32_t r = 0; r < 8u; r++) v[r] = s[(size_t)r * per + m];
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)v));
}

/* lane r = sum over c < 16 of w[r * ws + c] * x[c], rows r = 0..7, one token (x != -128): the
 * pair of rows (2k, 2k+1) in one vector, reduced by three VPHADDDs instead of a transpose */
static inline __m256i dots8_rows16(const int8_t *w, size_t ws, const int8_t *x) {
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i xx = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)x));
    __m256i p[4];
    for (uint32_t k = 0; k < 4u; k++) {
        const __m256i v = _mm256_loadu2_m128i((const __m128i *)(const void *)(w + (2u * k + 1u) * ws),
                                              (const __m128i *)(const void *)(w + 2u * k * ws));
        p[k] = _mm256_madd_epi16(
            _mm256_maddubs_epi16(_mm256_abs_epi8(v), _mm256_sign_epi8(xx, v)), ones);
    }
    /* (r0 r2 r4 r6 | r1 r3 r5 r7) -> r0 .. r7 */
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
    return _mm256_permutevar8x32_epi32(h, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* f[t] lane r = the ref's acc_f of row o + r for token t (nt token rows x[t][cols]); nt and the
 * block bl are constants after inlining, so the transposed weights stay in registers */
static inline __attribute__((always_inline)) void tile(__m256 f[NT], const int8_t *x,
                                                       const ebq_qtensor *restrict w, uint32_t o,
                                                       const uint32_t nt, const uint32_t bl) {
    const uint32_t cols = w->cols, nb = w->n_blocks;
    for (uint32_t t = 0; t < nt; t++) f[t] = _mm256_setzero_ps();
    for (uint32_t b = 0; b < nb; b++) {
        __m256i acc[NT];
        for (uint32_t t = 0; t < nt; t++) acc[t] = _mm256_setzero_si256();
        if (nt == 1u && bl == 16u) /* one token (the embedding projections): no transpose */
            acc[0] = dots8_rows16(w->q + (size_t)o * cols + (size_t)b * bl, cols, x + (size_t)b * bl);
        else
            ebq_vec_dots8(acc, w->q + (size_t)o * cols + (size_t)b * bl, cols,
                          x + (size_t)b * bl, cols, bl, nt);
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
    if (ebq_vec_has_min(xq, n * cols)) return 0; /* never made by the runtime's quantizers */
    for (uint32_t i = 0; i < n; i += NT) {
        const uint32_t nt = n - i < NT ? n - i : NT;
        const int8_t *x = xq + (size_t)i * cols;
        for (uint32_t o = 0; o + 8u <= rows; o += 8u) {
            __m256 f[NT];
            switch (nt * 64u + bl) {
            case 4u * 64u + 32u: tile(f, x, w, o, 4u, 32u); break;
            case 3u * 64u + 32u: tile(f, x, w, o, 3u, 32u); break;
            case 2u * 64u + 32u: tile(f, x, w, o, 2u, 32u); break;
            case 1u * 64u + 32u: tile(f, x, w, o, 1u, 32u); break;
            case 4u * 64u + 16u: tile(f, x, w, o, 4u, 16u); break;
            case 3u * 64u + 16u: tile(f, x, w, o, 3u, 16u); break;
            case 2u * 64u + 16u: tile(f, x, w, o, 2u, 16u); break;
            default: tile(f, x, w, o, 1u, 16u); break;
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
