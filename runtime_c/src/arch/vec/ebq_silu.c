/* SiLU for hosts with SIMD: the ref's v / (1 + ebq_exp(-v)) eight lanes at a time with the
 * lane-exact exp of ebq_vec_exp.h (AVX2); the tail and other CPUs run the ref loop.
 * Same bits as src/ref/ebq_silu.c. */
#include "ebq_vec.h"
#include "ebq_vec_exp.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* v[n] <- v / (1 + exp(-v)) */
void ebq_silu_inplace(float *v, uint32_t n) {
    uint32_t i = 0;
#if EBQ_VEC_EXP8
    const __m256 one = _mm256_set1_ps(1.0f), neg = _mm256_set1_ps(-0.0f);
    for (; i + 8u <= n; i += 8u) {
        const __m256 x = _mm256_loadu_ps(v + i);
        const __m256 e = ebq_vec_exp8(_mm256_xor_ps(x, neg));
        _mm256_storeu_ps(v + i, _mm256_div_ps(x, _mm256_add_ps(one, e)));
    }
#endif
    for (; i < n; i++) v[i] = v[i] / (1.0f + ebq_exp(-v[i]));
}
