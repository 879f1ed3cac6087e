/* Register transposes shared by the AVX2 tiles (ebq_linear_avx2.c, ebq_dwconv_avx2.c). */
#ifndef EBQ_ARCH_VEC_AVX2_H
#define EBQ_ARCH_VEC_AVX2_H

#include <immintrin.h>
#include <stdint.h>

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

#endif /* EBQ_ARCH_VEC_AVX2_H */
