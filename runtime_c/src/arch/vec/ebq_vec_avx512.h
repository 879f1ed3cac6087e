/* Register transposes shared by the AVX-512 tiles (ebq_linear_avx512.c, ebq_dwconv_avx512.c):
 * 16 rows of int8 data into vectors whose lane r holds 4 consecutive bytes of row r, the
 * operand layout of VPDPBUSD with the rows in the lanes. */
#ifndef EBQ_ARCH_VEC_AVX512_H
#define EBQ_ARCH_VEC_AVX512_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* 4 bytes at p in every dword lane */
static inline __m512i ebq_vec_bcast32(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
}

static inline __m512i ld256x2(const int8_t *lo, const int8_t *hi) {
    const __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)lo);
    return _mm512_inserti64x4(_mm512_castsi256_si512(a),
                              _mm256_loadu_si256((const __m256i *)(const void *)hi), 1);
}

static inline __m512i ld128x4(const int8_t *p, size_t step) {
    __m512i z = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(const void *)p));
    z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(const void *)(p + step)), 1);
    z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(const void *)(p + 2 * step)), 2);
    return _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(const void *)(p + 3 * step)),
                              3);
}

/* 4 x 4 dword transpose inside each 128-bit lane: out[j] lane L = (a0, a1, a2, a3)[L].d[j] */
static inline void ebq_vec_tr4(__m512i out[4], __m512i a0, __m512i a1, __m512i a2, __m512i a3) {
    const __m512i t0 = _mm512_unpacklo_epi32(a0, a1), t1 = _mm512_unpackhi_epi32(a0, a1);
    const __m512i t2 = _mm512_unpacklo_epi32(a2, a3), t3 = _mm512_unpackhi_epi32(a2, a3);
    out[0] = _mm512_unpacklo_epi64(t0, t2), out[1] = _mm512_unpackhi_epi64(t0, t2);
    out[2] = _mm512_unpacklo_epi64(t1, t3), out[3] = _mm512_unpackhi_epi64(t1, t3);
}

/* g[j] lane r = bytes 4j .. 4j+3 of p + r * cols, r = 0..15: 32-byte blocks.
 * Rows r and r + 8 share a vector; the lanes come out as (0-3 | 8-11) and (4-7 | 12-15) and
 * one two-source permute puts them in order. */
static inline void ebq_vec_wt32(__m512i g[8], const int8_t *p, size_t cols) {
    __m512i a[8], c[4], e[4];
    for (uint32_t r = 0; r < 8u; r++) a[r] = ld256x2(p + r * cols, p + (r + 8u) * cols);
    ebq_vec_tr4(c, a[0], a[1], a[2], a[3]);
    ebq_vec_tr4(e, a[4], a[5], a[6], a[7]);
    const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
    const __m512i hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    for (uint32_t j = 0; j < 4u; j++) {
        g[j] = _mm512_permutex2var_epi64(c[j], lo, e[j]);
        g[j + 4u] = _mm512_permutex2var_epi64(c[j], hi, e[j]);
    }
}

/* the same for 16-byte blocks: lane L of a[k] holds row 4L + k, so the transpose is in order */
static inline void ebq_vec_wt16(__m512i g[4], const int8_t *p, size_t cols) {
    ebq_vec_tr4(g, ld128x4(p, 4 * cols), ld128x4(p + cols, 4 * cols), ld128x4(p + 2 * cols, 4 * cols),
        ld128x4(p + 3 * cols, 4 * cols));
}

/* 4 x 4 transpose of 128-bit lanes: out[k] lane L = in[L] lane k */
static inline void ebq_vec_tr_lanes(__m512i out[4], __m512i i0, __m512i i1, __m512i i2, __m512i i3) {
    const __m512i a = _mm512_shuffle_i32x4(i0, i1, 0x44), b = _mm512_shuffle_i32x4(i0, i1, 0xee);
    const __m512i c = _mm512_shuffle_i32x4(i2, i3, 0x44), d = _mm512_shuffle_i32x4(i2, i3, 0xee);
    out[0] = _mm512_shuffle_i32x4(a, c, 0x88), out[1] = _mm512_shuffle_i32x4(a, c, 0xdd);
    out[2] = _mm512_shuffle_i32x4(b, d, 0x88), out[3] = _mm512_shuffle_i32x4(b, d, 0xdd);
}

#endif /* EBQ_ARCH_VEC_AVX512_H */
