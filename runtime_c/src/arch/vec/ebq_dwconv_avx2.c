/* Causal depthwise conv tiles for x86-64 CPUs with AVX2 but without AVX-512 (see ebq_vec.h):
 * 16 channels x 32 taps, the channels in the lanes. VPMADDWD multiplies int16 pairs, so the
 * taps go in pairs (2p, 2p+1): the weights of each channel are widened and transposed once per
 * call into 16 pair vectors, and two consecutive input rows r, r+1 are widened and interleaved
 * (VPUNPCKL/HWD) into the same lanes, each such pair vector serving every output row that reads
 * it (rows before 0 are zeros, which the ref skips: same sums). The interleave works within
 * 128-bit halves, so a vector holds channels (0-3, 8-11) or (4-7, 12-15) of the 16; the weights
 * are transposed in that order and the sums put back in order before the ref's float steps.
 * Same bits as the int8 channels of src/ref/ebq_dwconv_q8.c. */
#include "ebq_vec.h"

#if EBQ_VEC_AVX2_TILES
#include "ebq_vec_avx2.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

#define K 32u    /* taps of the tiles */
#define MAXN 8u  /* output rows per call */

/* W[h][p] lane L: the taps (2p, 2p+1) of channel c0 + (h ? 4 : 0) + (L < 4 ? L : L + 4) */
static void weights(__m256i W[2][K / 2u], const int8_t *restrict w, uint32_t c0) {
    for (uint32_t h = 0; h < 2u; h++) {
        __m256i lo[8], hi[8], g[8];
        for (uint32_t L = 0; L < 8u; L++) {
            const uint32_t ch = c0 + 4u * h + (L < 4u ? L : L + 4u);
            const __m128i *p = (const __m128i *)(const void *)(w + (size_t)ch * K);
            lo[L] = _mm256_cvtepi8_epi16(_mm_loadu_si128(p));      /* taps 0..15 */
            hi[L] = _mm256_cvtepi8_epi16(_mm_loadu_si128(p + 1));  /* taps 16..31 */
        }
        ebq_vec_tr8(g, lo);
        for (uint32_t p = 0; p < 8u; p++) W[h][p] = g[p];
        ebq_vec_tr8(g, hi);
        for (uint32_t p = 0; p < 8u; p++) W[h][p + 8u] = g[p];
    }
}

static inline __m256i row16(const int8_t *restrict H, int64_t r, uint32_t d, uint32_t c0) {
    if (r < 0) return _mm256_setzero_si256();
    return _mm256_cvtepi8_epi16(
        _mm_loadu_si128((const __m128i *)(const void *)(H + (size_t)r * d + c0)));
}

/* acc[i] = the int32 sums of output row r0 + K - 1 + i, i < n, in the lane order above */
static inline __attribute__((always_inline)) void sums(__m256i acc[MAXN][2],
                                                       const int8_t *restrict H, int64_t r0,
                                                       uint32_t d, uint32_t c0,
                                                       const __m256i W[2][K / 2u],
                                                       const uint32_t n) {
    for (uint32_t i = 0; i < n; i++) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
    /* input rows (r0 + q, r0 + q + 1): tap pair p of output row i when q = i + 2p */
    __m256i cur = row16(H, r0, d, c0);
    for (uint32_t q = 0; q + 1u < K + n - 1u; q++) {
        const __m256i nxt = row16(H, r0 + q + 1, d, c0);
        const __m256i x0 = _mm256_unpacklo_epi16(cur, nxt);
        const __m256i x1 = _mm256_unpackhi_epi16(cur, nxt);
        for (uint32_t i = q & 1u; i < n && i <= q; i += 2u) {
            const uint32_t p = (q - i) / 2u;
            if (p >= K / 2u) continue;
            acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(x0, W[0][p]));
            acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(x1, W[1][p]));
        }
        cur = nxt;
    }
}

int ebq_vec_dwconv_tiles8(float *restrict c, const int8_t *restrict H, uint32_t t, uint32_t n,
                          uint32_t d, uint32_t a, float h_scale, const ebq_qtensor *restrict w) {
    if (a != 1u || w->cols != K || w->n_blocks != 1u || d % 16u != 0u || n > MAXN) return 0;
    const int64_t r0 = (int64_t)t - (int64_t)(K - 1u); /* first input row read */
    for (uint32_t c0 = 0; c0 < d; c0 += 16u) {
        __m256i W[2][K / 2u], acc[MAXN][2];
        weights(W, w->q, c0);
        switch (n) { /* constant row counts: the sums stay in registers */
        case 4u: sums(acc, H, r0, d, c0, W, 4u); break;
        case 1u: sums(acc, H, r0, d, c0, W, 1u); break;
        default: sums(acc, H, r0, d, c0, W, n); break;
        }
        const __m128i *sp = (const __m128i *)(const void *)(w->scale + c0);
        const __m256 sc0 = _mm256_cvtph_ps(_mm_loadu_si128(sp));
        const __m256 sc1 = _mm256_cvtph_ps(_mm_loadu_si128(sp + 1));
        const __m256 hs = _mm256_set1_ps(h_scale);
        for (uint32_t i = 0; i < n; i++) {
            /* (0-3 | 8-11), (4-7 | 12-15) -> (0-7), (8-15) */
            const __m256i s0 = _mm256_permute2x128_si256(acc[i][0], acc[i][1], 0x20);
            const __m256i s1 = _mm256_permute2x128_si256(acc[i][0], acc[i][1], 0x31);
            float *ci = c + (size_t)i * d + c0;
            const __m256 z = _mm256_setzero_ps(); /* the ref's 0.0f + ... (-0 -> +0) */
            __m256 f0 = _mm256_add_ps(z, _mm256_mul_ps(_mm256_cvtepi32_ps(s0), sc0));
            __m256 f1 = _mm256_add_ps(z, _mm256_mul_ps(_mm256_cvtepi32_ps(s1), sc1));
            f0 = _mm256_mul_ps(f0, hs), f1 = _mm256_mul_ps(f1, hs);
            _mm256_storeu_ps(ci, _mm256_add_ps(f0, _mm256_loadu_ps(w->bias + c0)));
            _mm256_storeu_ps(ci + 8u, _mm256_add_ps(f1, _mm256_loadu_ps(w->bias + c0 + 8u)));
        }
    }
    return 1;
}
#endif
