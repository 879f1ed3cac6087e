/* Linear layer tiles for CPUs with AVX-512 VNNI (see ebq_vec.h): 16 output rows x one or two
 * token rows, all the rows of the tile in the 16 lanes of a vector, so that no horizontal sum
 * is needed. Per 32- (or 16-) column block, the 16 weight row blocks are transposed in
 * registers into 8 (4) vectors of 4-byte column groups; VPDPBUSD multiplies them with the
 * token's group broadcast. It takes unsigned bytes on one side, so the weights go in as
 * w + 128 and the sums start at -128 * sum(x): exact int32 block sums. The float steps are the
 * ref's, lane by lane: acc_f += (float)sum * scale, * xs, + outliers, + bias. Same bits as
 * src/ref/ebq_linear_q8.c. */
#include "ebq_vec.h"

#if EBQ_VEC_AVX512
#include "ebq_vec_avx512.h"

#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* the 16 x m FP16 values of rows o .. o+15 (m per row, contiguous) as floats in tmp[16 m];
 * column j is then the gather of tmp[r m + j] */
static inline void f16_rows(float *restrict tmp, const uint16_t *restrict s, uint32_t m) {
    for (uint32_t k = 0; k < m; k++)
        _mm512_storeu_ps(tmp + 16u * k, _mm512_cvtph_ps(_mm256_loadu_si256(
                                            (const __m256i *)(const void *)(s + 16u * k))));
}

static inline __m512 column(const float *restrict tmp, uint32_t m, uint32_t j) {
    const __m512i idx = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32((int32_t)m));
    return _mm512_i32gather_ps(_mm512_add_epi32(idx, _mm512_set1_epi32((int32_t)j)), tmp, 4);
}

/* y_t[o .. o+15] before the epilogue, for nt (1 or 2) token rows x_t and bl-column blocks
 * (both constants after inlining, so the 8 transposed vectors stay in registers);
 * cx[t][b] = 128 sum(x_t over block b) */
static inline __attribute__((always_inline)) void tile(
    __m512 f[2], const int8_t *restrict x0, const int8_t *restrict x1,
    const int32_t *restrict cx0, const int32_t *restrict cx1, const ebq_qtensor *restrict w,
    uint32_t o, const uint32_t nt, const uint32_t bl) {
    const uint32_t cols = w->cols, nb = w->n_blocks;
    const __m512i w128 = _mm512_set1_epi8((char)0x80); /* w + 128: unsigned */
    float sc[16u * EBQ_VEC_MAXNB];
    f16_rows(sc, w->scale + (size_t)o * nb, nb);
    f[0] = _mm512_setzero_ps(), f[1] = _mm512_setzero_ps();
    for (uint32_t b = 0; b < nb; b++) {
        const int8_t *p = w->q + (size_t)o * cols + (size_t)b * bl;
        const int8_t *xb0 = x0 + (size_t)b * bl, *xb1 = x1 + (size_t)b * bl;
        __m512i g[8], s0 = _mm512_set1_epi32(-cx0[b]), s1 = _mm512_set1_epi32(-cx1[b]);
        if (bl == 32u)
            ebq_vec_wt32(g, p, cols);
        else
            ebq_vec_wt16(g, p, cols);
        for (uint32_t j = 0; j < bl / 4u; j++) g[j] = _mm512_xor_si512(g[j], w128);
        /* two chains per token (even and odd groups): half the VPDPBUSD latency */
        __m512i u0 = _mm512_setzero_si512(), u1 = _mm512_setzero_si512();
        for (uint32_t j = 0; j < bl / 4u; j += 2u) {
            s0 = _mm512_dpbusd_epi32(s0, g[j], ebq_vec_bcast32(xb0 + 4u * j));
            u0 = _mm512_dpbusd_epi32(u0, g[j + 1u], ebq_vec_bcast32(xb0 + 4u * j + 4u));
            if (nt == 2u) {
                s1 = _mm512_dpbusd_epi32(s1, g[j], ebq_vec_bcast32(xb1 + 4u * j));
                u1 = _mm512_dpbusd_epi32(u1, g[j + 1u], ebq_vec_bcast32(xb1 + 4u * j + 4u));
            }
        }
        s0 = _mm512_add_epi32(s0, u0), s1 = _mm512_add_epi32(s1, u1);
        const __m512 scv = column(sc, nb, b);
        f[0] = _mm512_add_ps(f[0], _mm512_mul_ps(_mm512_cvtepi32_ps(s0), scv));
        if (nt == 2u) f[1] = _mm512_add_ps(f[1], _mm512_mul_ps(_mm512_cvtepi32_ps(s1), scv));
    }
}

/* y[o .. o+15] = f * xs, + the outlier columns (weights ow[m], converted), + bias */
static void epilogue(float *restrict y, __m512 f, float xs, const float *restrict xo,
                     const float *restrict ow, const ebq_qtensor *restrict w, uint32_t o) {
    const uint32_t no = w->n_outliers;
    __m512 v = _mm512_mul_ps(f, _mm512_set1_ps(xs));
    for (uint32_t m = 0; m < no; m++)
        v = _mm512_add_ps(v, _mm512_mul_ps(_mm512_set1_ps(xo[m]), column(ow, no, m)));
    if (w->bias) v = _mm512_add_ps(v, _mm512_loadu_ps(w->bias + o));
    _mm512_storeu_ps(y + o, v);
}

uint32_t ebq_vec_linear_tiles(float *restrict y0, float *restrict y1, const int8_t *restrict x0,
                              const int8_t *restrict x1, const float xs[2],
                              const float *restrict xo0, const float *restrict xo1, uint32_t nt,
                              const ebq_qtensor *restrict w) {
    const uint32_t bl = w->block, nb = w->n_blocks, no = w->n_outliers;
    if ((bl != 32u && bl != 16u) || w->cols != bl * nb || nb > EBQ_VEC_MAXNB ||
        no > EBQ_VEC_MAXNO)
        return 0;
    int32_t cx[2][EBQ_VEC_MAXNB];
    for (uint32_t t = 0; t < nt; t++) {
        const int8_t *x = t ? x1 : x0;
        for (uint32_t b = 0; b < nb; b++) {
            int32_t s = 0;
            for (uint32_t c = 0; c < bl; c++) s += x[b * bl + c];
            cx[t][b] = 128 * s;
        }
    }
    uint32_t o = 0;
    for (; o + 16u <= w->rows; o += 16u) {
        __m512 f[2];
        float ow[16u * EBQ_VEC_MAXNO];
        if (no) f16_rows(ow, w->outlier_w + (size_t)o * no, no);
        if (nt == 2u) {
            if (bl == 32u)
                tile(f, x0, x1, cx[0], cx[1], w, o, 2u, 32u);
            else
                tile(f, x0, x1, cx[0], cx[1], w, o, 2u, 16u);
            epilogue(y1, f[1], xs[1], xo1, ow, w, o);
        } else if (bl == 32u) {
            tile(f, x0, x0, cx[0], cx[0], w, o, 1u, 32u);
        } else {
            tile(f, x0, x0, cx[0], cx[0], w, o, 1u, 16u);
        }
        epilogue(y0, f[0], xs[0], xo0, ow, w, o);
    }
    return o;
}
#endif
