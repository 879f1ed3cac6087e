/* ebq_exp on eight floats at a time (AVX2): the ref's clamps, its rounding of n (round half
 * away from zero) and the ebq_exp_core polynomial, lane by lane, one correctly rounded IEEE
 * operation for each of the scalar ones (separate multiply and add: no FMA). Same bits as
 * ebq_exp in every lane. */
#ifndef EBQ_ARCH_VEC_EXP_H
#define EBQ_ARCH_VEC_EXP_H

#if defined(__AVX2__)
#include <immintrin.h>

#define EBQ_VEC_EXP8 1

static inline __m256 ebq_vec_exp8(__m256 x) {
    const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    /* x < -87 -> -87, x > 88 -> 88 (MAXPS/MINPS return the constant for NaN: fixed below) */
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-0x1.5cp+6f)), _mm256_set1_ps(0x1.6p+6f));
    x = _mm256_andnot_ps(nan, x); /* NaN -> 0 */
    /* n = round half away from zero: sign(y) * trunc(|y| + 0.5) */
    const __m256 y = _mm256_mul_ps(x, _mm256_set1_ps(0x1.715476p+0f));
    const __m256 sign = _mm256_and_ps(y, _mm256_set1_ps(-0.0f));
    const __m256 ay = _mm256_add_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), y),
                                    _mm256_set1_ps(0.5f));
    const __m256 t = _mm256_round_ps(ay, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256i n = _mm256_cvttps_epi32(_mm256_or_ps(t, sign));
    const __m256 nf = _mm256_cvtepi32_ps(n); /* (float)n, as the scalar core */
    __m256 r = _mm256_sub_ps(x, _mm256_mul_ps(nf, _mm256_set1_ps(0x1.63p-1f)));
    r = _mm256_sub_ps(r, _mm256_mul_ps(nf, _mm256_set1_ps(-0x1.bd0106p-13f)));
    __m256 p = _mm256_set1_ps(0x1.6c16c2p-10f);
    p = _mm256_add_ps(_mm256_set1_ps(0x1.111112p-7f), _mm256_mul_ps(r, p));
    p = _mm256_add_ps(_mm256_set1_ps(0x1.555556p-5f), _mm256_mul_ps(r, p));
    p = _mm256_add_ps(_mm256_set1_ps(0x1.555556p-3f), _mm256_mul_ps(r, p));
    p = _mm256_add_ps(_mm256_set1_ps(0x1p-1f), _mm256_mul_ps(r, p));
    p = _mm256_add_ps(_mm256_set1_ps(1.0f), _mm256_mul_ps(r, p));
    p = _mm256_add_ps(_mm256_set1_ps(1.0f), _mm256_mul_ps(r, p));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
#else
#define EBQ_VEC_EXP8 0
#endif

#endif /* EBQ_ARCH_VEC_EXP_H */
