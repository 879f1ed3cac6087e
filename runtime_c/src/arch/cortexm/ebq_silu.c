/* SiLU for Cortex-M: the ref's v / (1 + ebq_exp(-v)) with ebq_exp inlined and its clamps and
 * NaN test dropped where they cannot fire. For |v| <= 17 the argument -v needs no clamp,
 * n = round(-v log2 e) is in [-25, 25]: y + copysign(0.5, y), truncated (the ref's round half
 * away from zero, y = -v log2 e, whose sign is the opposite of v's: the half comes from v's
 * sign bit), and p 2^n is p with n added to its exponent (p in [0.7, 1.5], p 2^n a normal
 * number: exact, as the ref's multiplication); the reduction and polynomial are the ref's
 * operation sequence. Other v (and NaN) call ebq_exp itself. The range test runs on the bits:
 * |v| <= 17 exactly when (bits << 1) <= (bits(17) << 1).
 * Same bits as src/ref/ebq_silu.c. */
#include <math.h>

#include "ebq_cm.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* ebq_exp(-x) for |x| <= 17 (b: the bits of x), operation for operation */
static inline float exp_mid_neg(float x, uint32_t b, float nl2e, const ebq_cm_exp_consts *k) {
    const float half = ebq_f32_from_bits((b & 0x80000000u) ^ 0xBF000000u); /* +-0.5, -x's sign */
    const int32_t n = ebq_cm_cvt_sat(x * nl2e + half);
    const float p = ebq_cm_exp_poly(-x, (float)n, k);
    return ebq_f32_from_bits(ebq_f32_bits(p) + ((uint32_t)n << 23));
}

#define MID(b) (((b) << 1) <= (0x41880000u << 1)) /* |x| <= 17 and not NaN, on the bits */

/* v[n] <- v / (1 + exp(-v)). The other inputs (rare) wait for a second pass, so the hot loop
 * makes no call and keeps its constants in the caller-saved FPU registers. A result of the
 * first pass is never taken for such an input: |silu(x)| <= |x| <= 17. */
void ebq_silu_inplace(float *v, uint32_t n) {
    uint32_t other = 0;
    const ebq_cm_exp_consts k = ebq_cm_exp_consts_kept();
    const float nl2e = ebq_cm_keep(-0x1.715476p+0f);
#pragma GCC unroll 2
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t b = ebq_cm_ld32(v + i);
        const float x = ebq_f32_from_bits(b);
        if (MID(b))
            v[i] = x / (k.one + exp_mid_neg(x, b, nl2e, &k));
        else
            other = 1u;
    }
    for (uint32_t i = 0; other && i < n; i++) {
        const float x = v[i];
        if (!MID(ebq_f32_bits(x))) v[i] = x / (1.0f + ebq_exp(-x));
    }
}
