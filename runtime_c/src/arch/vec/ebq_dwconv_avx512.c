/* Causal depthwise conv tiles for CPUs with AVX-512 VNNI (see ebq_vec.h): 64 channels x 32 taps
 * in one block, the channels in the lanes. Each channel's 32 taps are transposed once per call
 * into 4-tap groups (as the linear tiles do); the inputs of a group, 4 consecutive rows of H,
 * are byte-interleaved into the same lanes (rows before 0 read as zeros, which the ref skips:
 * same sums) and VPDPBUSD takes them as unsigned H + 128, the sums starting at
 * -128 * sum(w). The float epilogue is the ref's, lane by lane. Same bits as the int8 channels
 * of src/ref/ebq_dwconv_q8.c. */
#include "ebq_vec.h"

#if EBQ_VEC_AVX512
#include "ebq_vec_avx512.h"

#include "embbert/kernels.h"
#include "embbert/numerics.h"

#define K 32u /* taps of the tiles */

/* taps of channels c0 .. c0+63 as W[g][k] (lane L, dword i: channel c0 + 16L + 4k + i, taps
 * 4g .. 4g+3, the layout of the interleaved inputs below) and corr[k] = 128 * sum of taps */
static void weights(__m512i W[8][4], __m512i corr[4], const int8_t *restrict w) {
    __m512i T[4][8];
    for (uint32_t L = 0; L < 4u; L++) ebq_vec_wt32(T[L], w + (size_t)16u * L * K, K);
    const __m512i ones = _mm512_set1_epi8((char)0x80);
    for (uint32_t k = 0; k < 4u; k++) corr[k] = _mm512_setzero_si512();
    for (uint32_t g = 0; g < 8u; g++) {
        ebq_vec_tr_lanes(W[g], T[0][g], T[1][g], T[2][g], T[3][g]);
        for (uint32_t k = 0; k < 4u; k++) corr[k] = _mm512_dpbusd_epi32(corr[k], ones, W[g][k]);
    }
}

static inline __m512i row64(const int8_t *restrict H, int64_t r, uint32_t d, uint32_t c0) {
    if (r < 0) return _mm512_set1_epi8((char)0x80); /* a zero row, + 128 */
    return _mm512_xor_si512(_mm512_loadu_si512(H + (size_t)r * d + c0),
                            _mm512_set1_epi8((char)0x80));
}

/* c[ch] for channels c0 .. c0+63 of output row t */
static void row(float *restrict c, const int8_t *restrict H, uint32_t t, uint32_t d,
                uint32_t c0, float h_scale, const __m512i W[8][4], const __m512i corr[4],
                const ebq_qtensor *restrict w) {
    __m512i acc[4];
    for (uint32_t k = 0; k < 4u; k++) acc[k] = _mm512_sub_epi32(_mm512_setzero_si512(), corr[k]);
    for (uint32_t g = 0; g < 8u; g++) {
        const int64_t r = (int64_t)t - (int64_t)(K - 1u) + 4 * (int64_t)g;
        const __m512i a = row64(H, r, d, c0), b = row64(H, r + 1, d, c0);
        const __m512i e = row64(H, r + 2, d, c0), f = row64(H, r + 3, d, c0);
        const __m512i ab0 = _mm512_unpacklo_epi8(a, b), ab1 = _mm512_unpackhi_epi8(a, b);
        const __m512i ef0 = _mm512_unpacklo_epi8(e, f), ef1 = _mm512_unpackhi_epi8(e, f);
        acc[0] = _mm512_dpbusd_epi32(acc[0], _mm512_unpacklo_epi16(ab0, ef0), W[g][0]);
        acc[1] = _mm512_dpbusd_epi32(acc[1], _mm512_unpackhi_epi16(ab0, ef0), W[g][1]);
        acc[2] = _mm512_dpbusd_epi32(acc[2], _mm512_unpacklo_epi16(ab1, ef1), W[g][2]);
        acc[3] = _mm512_dpbusd_epi32(acc[3], _mm512_unpackhi_epi16(ab1, ef1), W[g][3]);
    }
    __m512i s[4];
    ebq_vec_tr_lanes(s, acc[0], acc[1], acc[2], acc[3]); /* s[L]: channels c0 + 16L .. in order */
    for (uint32_t L = 0; L < 4u; L++) {
        const uint32_t ch = c0 + 16u * L;
        const __m512 sc = _mm512_cvtph_ps(
            _mm256_loadu_si256((const __m256i *)(const void *)(w->scale + ch)));
        __m512 f = _mm512_add_ps(_mm512_setzero_ps(), _mm512_mul_ps(_mm512_cvtepi32_ps(s[L]), sc));
        f = _mm512_mul_ps(f, _mm512_set1_ps(h_scale));
        _mm512_storeu_ps(c + ch, _mm512_add_ps(f, _mm512_loadu_ps(w->bias + ch)));
    }
}

int ebq_vec_dwconv_tiles(float *restrict c, const int8_t *restrict H, uint32_t t, uint32_t n,
                         uint32_t d, uint32_t a, float h_scale, const ebq_qtensor *restrict w) {
    if (a != 1u || w->cols != K || w->n_blocks != 1u || d % 64u != 0u) return 0;
    for (uint32_t c0 = 0; c0 < d; c0 += 64u) {
        __m512i W[8][4], corr[4];
        weights(W, corr, w->q + (size_t)c0 * K);
        for (uint32_t i = 0; i < n; i++)
            row(c + (size_t)i * d, H, t + i, d, c0, h_scale, W, corr, w);
    }
    return 1;
}
#endif
