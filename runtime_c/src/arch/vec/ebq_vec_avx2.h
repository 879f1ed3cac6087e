/* Register transposes and the int8 dot-product tile shared by the AVX2 tiles
 * (ebq_linear_avx2.c, ebq_dwconv_avx2.c, ebq_attn_scores.c). */
#ifndef EBQ_ARCH_VEC_AVX2_H
#define EBQ_ARCH_VEC_AVX2_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* 8 x 8 dword transpose: out[j] lane r = in[r] dword j */
static inline void ebq_vec_tr8(__m256i g[8], const __m256i a[8]) {
    __m256i t[8], u[8];
    for (uint32_t k = 0; k < 4u; k++) {
        t[2u * k] = _mm256_unpacklo_epi32(a[2u * k], a[2u * k + 1u]);
        t[2u * k + 1u] = _mm256_unpackhi_epi32(a[2u * k], a[2u * k + 1u]);
    }
    for (uint32_t k = 0; k < 2u; k++) {
        u[4u * k] = _mm256_unpacklo_epi64(t[4u * k], t[4u * k + 2u]);
        u[4u * k + 1u] = _mm256_unpackhi_epi64(t[4u * k], t[4u * k + 2u]);
        u[4u * k + 2u] = _mm256_unpacklo_epi64(t[4u * k + 1u], t[4u * k + 3u]);
        u[4u * k + 3u] = _mm256_unpackhi_epi64(t[4u * k + 1u], t[4u * k + 3u]);
    }
    for (uint32_t k = 0; k < 4u; k++) {
        g[k] = _mm256_permute2x128_si256(u[k], u[k + 4u], 0x20);
        g[k + 4u] = _mm256_permute2x128_si256(u[k], u[k + 4u], 0x31);
    }
}

/* g[j] lane r = bytes 4j .. 4j+3 of row r (p + r * cols), r = 0..7, for bl = 32 or 16 bytes
 * per row (g[4..7] = 0 for 16) */
static inline void ebq_vec_wt8(__m256i g[8], const int8_t *p, size_t cols, uint32_t bl) {
    __m256i a[8];
    for (uint32_t r = 0; r < 8u; r++) {
        const void *row = p + r * cols;
        a[r] = bl == 32u ? _mm256_loadu_si256((const __m256i *)row)
                         : _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)row));
    }
    ebq_vec_tr8(g, a);
}

static inline __m256i ebq_vec_quad(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm256_set1_epi32(v);
}

/* acc[t] lane r += sum over c < bl of w[r * ws + c] * x[t * xs + c], rows r = 0..7, nt token
 * rows x (constants after inlining). VPMADDUBSW multiplies |w| with the token's 4 bytes
 * broadcast, each negated where w < 0 (VPSIGNB), and VPMADDWD adds the pairs into int32: with
 * x != -128 (the caller checks) every pair sum stays within +-32512, so the sums are exact. */
static inline __attribute__((always_inline)) void ebq_vec_dots8(__m256i *acc, const int8_t *w,
                                                                size_t ws, const int8_t *x,
                                                                size_t xs, const uint32_t bl,
                                                                const uint32_t nt) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i g[8];
    ebq_vec_wt8(g, w, ws, bl);
    for (uint32_t j = 0; j < bl / 4u; j++) {
        const __m256i aw = _mm256_abs_epi8(g[j]); /* |w|: 0 .. 128, unsigned */
        for (uint32_t t = 0; t < nt; t++) {
            const __m256i sx = _mm256_sign_epi8(ebq_vec_quad(x + t * xs + 4u * j), g[j]);
            acc[t] = _mm256_add_epi32(acc[t],
                                      _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), ones));
        }
    }
}

/* whether any of the n bytes is -128 */
static inline int ebq_vec_has_min(const int8_t *x, uint32_t n) {
    int8_t bad = 0;
    for (uint32_t c = 0; c < n; c++) bad |= (int8_t)(x[c] == -128);
    return bad != 0;
}

#endif /* EBQ_ARCH_VEC_AVX2_H */
