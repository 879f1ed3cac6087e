/* SiLU for Cortex-M: the ref's v / (1 + ebq_exp(-v)) with ebq_exp inlined and its clamps and
 * NaN test dropped where they cannot fire. For |v| <= 17 the argument x = -v needs no clamp,
 * n = round(x log2 e) is in [-25, 25] and is rounded with the branch-free ebq_cm helpers
 * (|y| + 0.5, truncate, sign fix-up: the ref's round half away from zero); the polynomial and
 * the 2^n scaling are the ref's operation sequence. Other v (and NaN) call ebq_exp itself.
 * Same bits as src/ref/ebq_silu.c. */
#include <math.h>

#include "ebq_cm.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* ebq_exp(x) for |x| <= 17, operation for operation */
static inline float exp_mid(float x) {
    const float y = x * 0x1.715476p+0f;
    return ebq_exp_core(x, ebq_cm_round(y));
}

/* v[n] <- v / (1 + exp(-v)) */
void ebq_silu_inplace(float *v, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        const float x = v[i];
        const float e = fabsf(x) <= 17.0f ? exp_mid(-x) : ebq_exp(-x);
        v[i] = x / (1.0f + e);
    }
}
