/* SiLU for Cortex-M: the ref's v / (1 + ebq_exp(-v)) with ebq_exp inlined and its clamps and
 * NaN test dropped where they cannot fire. For |v| <= 17 the argument x = -v needs no clamp,
 * n = round(x log2 e) is in [-25, 25] and is rounded with the branch-free ebq_cm helpers
 * (|y| + 0.5, truncate, sign fix-up: the ref's round half away from zero); the polynomial and
 * the 2^n scaling are the ref's operation sequence. Other v (and NaN) call ebq_exp itself.
 * The range test runs on the bits: |v| <= 17 exactly when (bits << 1) <= (bits(17) << 1).
 * Same bits as src/ref/ebq_silu.c. */
#include <math.h>

#include "ebq_cm.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* ebq_exp(-x) for |x| <= 17 (b: the bits of x), operation for operation: n = round(y),
 * y = -x log2 e, from |y| = |x| log2 e (rounding is symmetric) and y's sign, the opposite of
 * x's (x = +-0 gives n = 0 either way) */
static inline float exp_mid_neg(float x, uint32_t b, const ebq_cm_exp_consts *k) {
    const int32_t t = ebq_cm_cvt_sat(fabsf(x) * k->l2e + k->half);
    return ebq_cm_exp_core(-x, ebq_cm_signfix_neg(t, b), k);
}

#define MID(b) (((b) << 1) <= (0x41880000u << 1)) /* |x| <= 17 and not NaN, on the bits */

/* v[n] <- v / (1 + exp(-v)). The other inputs (rare) wait for a second pass, so the hot loop
 * makes no call and keeps its constants in the caller-saved FPU registers. A result of the
 * first pass is never taken for such an input: |silu(x)| <= |x| <= 17. */
void ebq_silu_inplace(float *v, uint32_t n) {
    uint32_t other = 0;
    const ebq_cm_exp_consts k = ebq_cm_exp_consts_kept();
#pragma GCC unroll 2
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t b = ebq_cm_ld32(v + i);
        const float x = ebq_f32_from_bits(b);
        if (MID(b))
            v[i] = x / (k.one + exp_mid_neg(x, b, &k));
        else
            other = 1u;
    }
    for (uint32_t i = 0; other && i < n; i++) {
        const float x = v[i];
        if (!MID(ebq_f32_bits(x))) v[i] = x / (1.0f + ebq_exp(-x));
    }
}
