/* RMSNorm fused with the static int8 quantization of hn, for hosts with SIMD (see ebq_vec.h).
 * The sum of squares stays the ref's sequential float chain; the quantization runs without
 * branches (ebq_sat_i8's data-dependent branches mispredict on about half the channels of real
 * activations), eight channels at a time with AVX2: NaN -> 0, clamp to +-127, + or - 0.5 by
 * the sign, truncate; one float operation for each of the ref's. Same bits as
 * src/ref/ebq_rmsnorm_q8.c. */
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "ebq_vec.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"
#include "../../ref/ref_loops.h"

/* h[d] int8, ho[n_idx] FP16 <- x[d] */
void ebq_rmsnorm_q8(int8_t *restrict h, uint16_t *restrict ho, const float *restrict x,
                    uint32_t d, float eps, float h_inv, const uint16_t *restrict idx,
                    uint32_t n_idx) {
    const float r = ebq_ref_rms_inv(x, d, eps);
    uint32_t c = 0;
#if defined(__AVX2__)
    const __m256 vr = _mm256_set1_ps(r), vi = _mm256_set1_ps(h_inv);
    const __m256 hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
    const __m256 half = _mm256_set1_ps(0.5f), mhalf = _mm256_set1_ps(-0.5f);
    for (; c + 8u <= d; c += 8u) {
        __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + c), vr), vi);
        v = _mm256_andnot_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q), v); /* NaN -> 0 */
        v = _mm256_max_ps(_mm256_min_ps(v, hi), lo);
        v = _mm256_add_ps(v, _mm256_blendv_ps(mhalf, half, _mm256_cmp_ps(v, _mm256_setzero_ps(),
                                                                          _CMP_GE_OQ)));
        const __m256i t = _mm256_cvttps_epi32(v);
        const __m128i t16 = _mm_packs_epi32(_mm256_castsi256_si128(t),
                                            _mm256_extracti128_si256(t, 1));
        _mm_storel_epi64((__m128i *)(void *)(h + c), _mm_packs_epi16(t16, t16));
    }
#endif
    for (; c < d; c++) {
        float v = (x[c] * r) * h_inv;
        v = v != v ? 0.0f : v;
        v = v > 127.0f ? 127.0f : v;
        v = v < -127.0f ? -127.0f : v;
        h[c] = (int8_t)(int32_t)(v + (v >= 0.0f ? 0.5f : -0.5f));
    }
    ebq_ref_rmsnorm_outliers(h, ho, x, r, idx, n_idx);
}
