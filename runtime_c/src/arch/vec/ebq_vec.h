/* Shared helpers of the host kernels (src/arch/vec): plain C11 loops shaped so that GCC/Clang
 * at -O2 turn them into SIMD code (VPMADDWD on x86-64, NEON on AArch64): fixed trip counts,
 * int16 operands, int32 sums; explicit AVX2 code for the float exp (ebq_vec_exp.h) and, where
 * the CPU has AVX-512 VNNI, the tiles of ebq_*_avx512.c for the int8 products. Every path
 * compiles to the portable loops elsewhere. Integer sums are exact in any order; every float
 * operation stays in the ref's order. */
#ifndef EBQ_ARCH_VEC_H
#define EBQ_ARCH_VEC_H

#if defined(__GNUC__) && !defined(__clang__)
/* -O2 in GCC 12 only vectorizes loops with the "very cheap" cost model, which rejects these
 * reductions; O3-level vectorization of the integer loops changes no result (exact sums). */
#pragma GCC optimize("O3", "fp-contract=off", "no-fast-math")
#endif

#include <stdint.h>

#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* AVX-512 (F, BW) with VNNI: the explicit tiles of ebq_linear_avx512.c */
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
#define EBQ_VEC_AVX512 1
#else
#define EBQ_VEC_AVX512 0
#endif

/* AVX2 (with F16C) and no AVX-512: the tiles of ebq_linear_avx2.c */
#if !EBQ_VEC_AVX512 && defined(__AVX2__) && defined(__F16C__)
#define EBQ_VEC_AVX2_TILES 1
#else
#define EBQ_VEC_AVX2_TILES 0
#endif

#define EBQ_VEC_MAXNB 32u /* blocks per row of the AVX-512 linear tiles */
#define EBQ_VEC_MAXNO 32u /* outlier columns of the AVX-512 linear tiles */

/* AVX-512 linear tiles: y_t[0 .. 16k) for nt (1 or 2) token rows x_t (scales xs[t], outlier
 * channels xo_t), the ref's ebq_linear_q8 for those rows; returns 16k (0: shape not handled) */
uint32_t ebq_vec_linear_tiles(float *restrict y0, float *restrict y1, const int8_t *restrict x0,
                              const int8_t *restrict x1, const float xs[2],
                              const float *restrict xo0, const float *restrict xo1, uint32_t nt,
                              const ebq_qtensor *restrict w);

/* AVX2 linear tiles: y[n][0 .. 8k) for n token rows xq (scales xs, outlier channels xo), the
 * ref's ebq_linear_q8 for those rows; returns 8k (0: shape not handled) */
uint32_t ebq_vec_linear_tiles8(float *restrict y, const int8_t *restrict xq,
                               const float *restrict xs, const float *restrict xo, uint32_t n,
                               const ebq_qtensor *restrict w);

/* AVX-512 depthwise conv (a = 1, 32 taps in one block, d % 64 == 0): rows t .. t+n-1 of the
 * int8 channels, the ref's ebq_dwconv_q8 without the outlier channels; 0: shape not handled */
int ebq_vec_dwconv_tiles(float *restrict c, const int8_t *restrict H, uint32_t t, uint32_t n,
                         uint32_t d, uint32_t a, float h_scale, const ebq_qtensor *restrict w);

/* AVX2 depthwise conv (a = 1, 32 taps in one block, d % 16 == 0, n <= 8): the AVX-512 tiles'
 * contract; 0: shape not handled */
int ebq_vec_dwconv_tiles8(float *restrict c, const int8_t *restrict H, uint32_t t, uint32_t n,
                          uint32_t d, uint32_t a, float h_scale, const ebq_qtensor *restrict w);

/* AVX-512 softmax @ V (n <= 2 rows, d % 64 == 0, numerators 0..127): the ref's ebq_attn_sum
 * without the outlier channels; 0: shape not handled */
int ebq_vec_attn_sum_tiles(float *restrict a, const int16_t *restrict e,
                           const int32_t *restrict Z, uint32_t n, const int8_t *restrict H,
                           uint32_t T, uint32_t d, float h_scale);

/* AVX2 softmax @ V (d % 32 == 0, numerators 0..127): the ref's ebq_attn_sum without the
 * outlier channels; 0: shape not handled */
int ebq_vec_attn_sum_tiles8(float *restrict a, const int16_t *restrict e,
                            const int32_t *restrict Z, uint32_t n, const int8_t *restrict H,
                            uint32_t T, uint32_t d, float h_scale);

#if defined(__F16C__) || defined(__AVX2__)
#include <immintrin.h>
#endif

/* sum of 32 products int8 x int8 (as int16) -> int32 */
static inline int32_t ebq_vec_dot32(const int8_t *restrict a, const int16_t *restrict b) {
    int32_t s = 0;
    for (uint32_t c = 0; c < 32u; c++) s += (int32_t)((int16_t)a[c] * b[c]);
    return s;
}

/* the two sums of `len` (a constant after inlining: 16 or 32) products of one int8 row a
 * with two int16 rows b0, b1 (a loaded once) */
static inline __attribute__((always_inline)) void ebq_vec_dot2(int32_t s[2],
                                                               const int8_t *restrict a,
                                                               const int16_t *restrict b0,
                                                               const int16_t *restrict b1,
                                                               uint32_t len) {
    int32_t s0 = 0, s1 = 0;
    for (uint32_t c = 0; c < len; c++) {
        const int16_t x = a[c];
        s0 += (int32_t)(x * b0[c]);
        s1 += (int32_t)(x * b1[c]);
    }
    s[0] = s0, s[1] = s1;
}

/* eb[g] = the bytes e[4g .. 4g+3] (0 past T), g < (T + 3) / 4; the caller checked
 * 0 <= e <= 127: the numerators as unsigned bytes for the softmax @ V tiles */
static inline void ebq_vec_pack_e(uint32_t *restrict eb, const int16_t *restrict e, uint32_t T) {
    uint8_t *b = (uint8_t *)eb;
    uint32_t j = 0;
#if defined(__AVX2__)
    for (; j + 16u <= T; j += 16u) {
        const __m128i lo = _mm_loadu_si128((const __m128i *)(const void *)(e + j));
        const __m128i hi = _mm_loadu_si128((const __m128i *)(const void *)(e + j + 8u));
        _mm_storeu_si128((__m128i *)(void *)(b + j), _mm_packus_epi16(lo, hi));
    }
#endif
    for (; j < T; j++) b[j] = (uint8_t)e[j];
    for (; j % 4u; j++) b[j] = 0u;
}

/* FP16 bit pattern -> float, exact either way (one VCVTPH2PS where the CPU has F16C) */
static inline float ebq_vec_f16(uint16_t h) {
#if defined(__F16C__)
    return _cvtsh_ss(h);
#else
    return ebq_f16_to_f32(h);
#endif
}

#endif /* EBQ_ARCH_VEC_H */
