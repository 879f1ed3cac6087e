/* Softmax numerators for hosts with SIMD: the max and then sat_i8(127 * ebq_exp(s - max)) eight
 * keys at a time with the lane-exact exp of ebq_vec_exp.h (AVX2). The ref's max walk keeps the
 * first of equal scores and never picks a later NaN; without NaN among the unmasked scores
 * every order gives the same max (up to the sign of a zero, which changes no s - max that
 * matters: exp(+-0) = 1), so a row with a NaN score takes the ref's loops. e <= 127.0001 and is
 * never NaN, so sat_i8 is min(127) then round half up. Same bits as src/ref/ebq_softmax_q8.c. */
#include "ebq_vec.h"
#include "ebq_vec_exp.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"
#include "../../ref/ref_loops.h"

/* the ref's loops for a whole row */
static int32_t ref_row(int16_t *restrict e, const float *restrict s,
                       const uint8_t *restrict segs, uint32_t T) {
    return ebq_ref_softmax_numerators(e, s, segs, 0, T, ebq_ref_softmax_max(s, segs, T));
}

#if EBQ_VEC_EXP8
/* lanes of segs[j .. j+7] that are padded keys */
static inline __m256 masked8(const uint8_t *segs) {
    const __m256i m = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)segs));
    return _mm256_castsi256_ps(_mm256_cmpeq_epi32(m, _mm256_setzero_si256()));
}
#endif

/* e[T] (int8 values in int16) <- s[T]; returns Z = sum(e) */
int32_t ebq_softmax_q8(int16_t *restrict e, const float *restrict s,
                       const uint8_t *restrict segs, uint32_t T) {
#if EBQ_VEC_EXP8
    const uint32_t T8 = T & ~7u;
    const __m256 ninf = _mm256_set1_ps(-__builtin_inff());
    __m256 mxv = ninf, bad = _mm256_setzero_ps();
    for (uint32_t j = 0; j < T8; j += 8u) {
        const __m256 sj = _mm256_loadu_ps(s + j), pad = masked8(segs + j);
        bad = _mm256_or_ps(bad, _mm256_andnot_ps(pad, _mm256_cmp_ps(sj, sj, _CMP_UNORD_Q)));
        mxv = _mm256_max_ps(mxv, _mm256_blendv_ps(sj, ninf, pad));
    }
    float m8[8], mx = -__builtin_inff();
    int any = 0;
    _mm256_storeu_ps(m8, mxv);
    for (uint32_t k = 0; k < 8u; k++) mx = m8[k] > mx ? m8[k] : mx;
    for (uint32_t j = 0; j < T8; j++) any |= segs[j] != 0;
    for (uint32_t j = T8; j < T; j++) {
        if (segs[j] == 0) continue;
        if (s[j] != s[j]) return ref_row(e, s, segs, T);
        mx = s[j] > mx ? s[j] : mx;
        any = 1;
    }
    if (_mm256_movemask_ps(bad) != 0) return ref_row(e, s, segs, T);
    if (!any) mx = 0.0f;
    const __m256 mxb = _mm256_set1_ps(mx), c127 = _mm256_set1_ps(127.0f);
    __m256i zv = _mm256_setzero_si256();
    for (uint32_t j = 0; j < T8; j += 8u) {
        const __m256 x = _mm256_sub_ps(_mm256_loadu_ps(s + j), mxb);
        const __m256 v = _mm256_min_ps(_mm256_mul_ps(ebq_vec_exp8(x), c127), c127);
        __m256i q = _mm256_cvttps_epi32(_mm256_add_ps(v, _mm256_set1_ps(0.5f)));
        q = _mm256_andnot_si256(_mm256_castps_si256(masked8(segs + j)), q);
        zv = _mm256_add_epi32(zv, q);
        const __m128i q16 = _mm_packs_epi32(_mm256_castsi256_si128(q),
                                            _mm256_extracti128_si256(q, 1));
        _mm_storeu_si128((__m128i *)(void *)(e + j), q16);
    }
    int32_t z8[8], Z = 0;
    _mm256_storeu_si256((__m256i *)(void *)z8, zv);
    for (uint32_t k = 0; k < 8u; k++) Z += z8[k];
    return Z + ebq_ref_softmax_numerators(e, s, segs, T8, T, mx);
#else
    return ref_row(e, s, segs, T);
#endif
}
