/* Linear layer for hosts with SIMD (see ebq_vec.h): the activation rows are widened to int16
 * once, two token rows share every weight block, each 32-column block is a fixed-length dot
 * product the compiler vectorizes (or, with AVX2, four rows x two tokens in intrinsics: see
 * rows4), and the float work per block runs in the ref's order. Same bits as
 * src/ref/ebq_linear_q8.c. */
#include "ebq_vec.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"
#include "../../ref/ref_loops.h"

#define MAXC 1024u /* widest row widened on the stack; wider rows take the ref loop */

/* y = acc * xs, + outlier columns in float, + bias: the ref's epilogue for one output */
static inline float finish(float acc_f, float xs, const float *restrict xo,
                           const ebq_qtensor *restrict w, uint32_t o) {
    const uint32_t no = w->n_outliers;
    float v = acc_f * xs;
    for (uint32_t m = 0; m < no; m++)
        v = v + xo[m] * ebq_vec_f16(w->outlier_w[(size_t)o * no + m]);
    if (w->bias) v = v + w->bias[o];
    return v;
}

/* block sums of rows o .. o+3 for two widened token rows (32-column blocks); y gets the float
 * sums. With AVX2 the eight dot products of a block run as VPMADDWD and are reduced together
 * (two rounds of VPHADDD and one cross-lane add instead of eight horizontal sums); the int32
 * sums are exact and the float steps are the ref's, lane by lane. Otherwise: plain loops,
 * eight independent reductions per block. */
#if defined(__AVX2__)
#include <immintrin.h>

static void rows4(float *restrict y0, float *restrict y1, const int16_t *restrict x0,
                  const int16_t *restrict x1, const ebq_qtensor *restrict w, uint32_t o) {
    const uint32_t cols = w->cols, nb = w->n_blocks;
    __m256 f = _mm256_setzero_ps(); /* (r0 t0, r0 t1, r1 t0, r1 t1, ..., r3 t1) */
    for (uint32_t b = 0; b < nb; b++) {
        const __m256i *xv0 = (const __m256i *)(const void *)(x0 + 32u * b);
        const __m256i *xv1 = (const __m256i *)(const void *)(x1 + 32u * b);
        const __m256i x0l = _mm256_loadu_si256(xv0), x0h = _mm256_loadu_si256(xv0 + 1);
        const __m256i x1l = _mm256_loadu_si256(xv1), x1h = _mm256_loadu_si256(xv1 + 1);
        __m256i p[8];
        float sc[4];
        for (uint32_t r = 0; r < 4u; r++) {
            const int8_t *wr = w->q + (size_t)(o + r) * cols + 32u * b;
            const __m128i *wv = (const __m128i *)(const void *)wr;
            const __m256i wl = _mm256_cvtepi8_epi16(_mm_loadu_si128(wv));
            const __m256i wh = _mm256_cvtepi8_epi16(_mm_loadu_si128(wv + 1));
            p[2u * r] = _mm256_add_epi32(_mm256_madd_epi16(wl, x0l), _mm256_madd_epi16(wh, x0h));
            p[2u * r + 1u] =
                _mm256_add_epi32(_mm256_madd_epi16(wl, x1l), _mm256_madd_epi16(wh, x1h));
            sc[r] = ebq_vec_f16(w->scale[(size_t)(o + r) * nb + b]);
        }
        const __m256i g0 = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]),
                                             _mm256_hadd_epi32(p[2], p[3]));
        const __m256i g1 = _mm256_hadd_epi32(_mm256_hadd_epi32(p[4], p[5]),
                                             _mm256_hadd_epi32(p[6], p[7]));
        const __m256i sum = _mm256_add_epi32(_mm256_permute2x128_si256(g0, g1, 0x20),
                                             _mm256_permute2x128_si256(g0, g1, 0x31));
        const __m256 scv = _mm256_setr_ps(sc[0], sc[0], sc[1], sc[1], sc[2], sc[2], sc[3], sc[3]);
        f = _mm256_add_ps(f, _mm256_mul_ps(_mm256_cvtepi32_ps(sum), scv));
    }
    float fs[8];
    _mm256_storeu_ps(fs, f);
    for (uint32_t r = 0; r < 4u; r++) y0[r] = fs[2u * r], y1[r] = fs[2u * r + 1u];
}
#else
static void rows4(float *restrict y0, float *restrict y1, const int16_t *restrict x0,
                  const int16_t *restrict x1, const ebq_qtensor *restrict w, uint32_t o) {
    const uint32_t cols = w->cols, nb = w->n_blocks;
    float f[4][2] = {{0.0f, 0.0f}, {0.0f, 0.0f}, {0.0f, 0.0f}, {0.0f, 0.0f}};
    for (uint32_t b = 0; b < nb; b++) {
        for (uint32_t r = 0; r < 4u; r++) {
            int32_t s[2];
            ebq_vec_dot2(s, w->q + (size_t)(o + r) * cols + 32u * b, x0 + 32u * b,
                         x1 + 32u * b, 32u);
            const float sc = ebq_vec_f16(w->scale[(size_t)(o + r) * nb + b]);
            f[r][0] = f[r][0] + (float)s[0] * sc;
            f[r][1] = f[r][1] + (float)s[1] * sc;
        }
    }
    for (uint32_t r = 0; r < 4u; r++) y0[r] = f[r][0], y1[r] = f[r][1];
}
#endif

/* y[n][rows] <- W[rows][cols] . (xs[i] * xq[i][cols] + outliers xo[i][n_out]) + bias[rows] */
void ebq_linear_q8(float *restrict y, const int8_t *restrict xq, const float *restrict xs,
                   const float *restrict xo, uint32_t n, const ebq_qtensor *restrict w) {
    const uint32_t rows = w->rows, cols = w->cols, bl = w->block, nb = w->n_blocks;
    const uint32_t no = w->n_outliers;
    /* 32-column blocks, or one 16-column block (the embedding projections) */
    const int fast = (bl == 32u || bl == 16u) && cols % bl == 0u && cols <= MAXC;
    int16_t xw[2][MAXC];
    uint32_t o8 = 0; /* rows done by the AVX2 tiles for every token */
#if EBQ_VEC_AVX2_TILES
    o8 = ebq_vec_linear_tiles8(y, xq, xs, xo, n, w);
    if (o8 == rows) return;
#endif
    for (uint32_t i = 0; i < n; i += 2u) {
        const uint32_t nt = (n - i >= 2u) ? 2u : 1u;
        const int8_t *x0 = xq + (size_t)i * cols;
        const float *xo0 = no ? xo + (size_t)i * no : xo; /* xo may be NULL */
        const float *xo1 = no ? xo0 + (nt - 1u) * no : xo;
        float *y0 = y + (size_t)i * rows, *y1 = y0 + (size_t)(nt - 1u) * rows;
        uint32_t o0 = o8; /* rows done by the AVX-512 or AVX2 tiles */
#if EBQ_VEC_AVX512
        const float xsp[2] = {xs[i], xs[i + nt - 1u]};
        o0 = ebq_vec_linear_tiles(y0, y1, x0, x0 + (size_t)(nt - 1u) * cols, xsp, xo0, xo1, nt,
                                  w);
        if (o0 == rows) continue;
#endif
        if (fast) {
            /* a lone last row pairs with itself (computed twice, stored once) */
            const int8_t *x1 = x0 + (size_t)(nt - 1u) * cols;
            for (uint32_t c = 0; c < cols; c++) xw[0][c] = x0[c], xw[1][c] = x1[c];
            uint32_t o = o0;
            if (bl == 32u)
                for (; o + 4u <= rows; o += 4u)
                    rows4(y0 + o, y1 + o, xw[0], xw[1], w, o);
            for (; o < rows; o++) {
                const int8_t *wr = w->q + (size_t)o * cols;
                const uint16_t *sr = w->scale + (size_t)o * nb;
                float f0 = 0.0f, f1 = 0.0f;
                for (uint32_t b = 0; b < nb; b++) {
                    int32_t s[2];
                    if (bl == 32u)
                        ebq_vec_dot2(s, wr + 32u * b, xw[0] + 32u * b, xw[1] + 32u * b, 32u);
                    else
                        ebq_vec_dot2(s, wr + 16u * b, xw[0] + 16u * b, xw[1] + 16u * b, 16u);
                    const float sc = ebq_vec_f16(sr[b]);
                    f0 = f0 + (float)s[0] * sc;
                    f1 = f1 + (float)s[1] * sc;
                }
                y1[o] = f1, y0[o] = f0;
            }
            for (o = o0; o < rows; o++) y0[o] = finish(y0[o], xs[i], xo0, w, o);
            if (nt == 2u)
                for (o = o0; o < rows; o++) y1[o] = finish(y1[o], xs[i + 1u], xo1, w, o);
            continue;
        }
        for (uint32_t t = 0; t < nt; t++) {
            const int8_t *x = x0 + (size_t)t * cols;
            float *yt = t ? y1 : y0;
            for (uint32_t o = o0; o < rows; o++) {
                const float acc_f = ebq_ref_linear_blocks(w->q + (size_t)o * cols,
                                                          w->scale + (size_t)o * nb, x, cols, bl,
                                                          nb);
                yt[o] = finish(acc_f, xs[i + t], t ? xo1 : xo0, w, o);
            }
        }
    }
}
