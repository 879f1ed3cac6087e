/* Softmax numerators for Cortex-M: the ref's numerics, with the work skipped where the result
 * is known. e = sat_i8(127 * ebq_exp(x)), x = s - max <= 0, is 0 for every x < -5.6
 * (127 e^-5.6 = 0.47 < 0.5, far outside ebq_exp's 3e-7 error), so those keys cost a compare;
 * the rest run ebq_exp's exact operation sequence without the clamps it cannot hit there
 * (x in [-5.6, 0]: no clamp, n in [-8, 0], rounded without a sign test). The max starts at the
 * first unmasked key, as the ref's. Same bits as src/ref/ebq_softmax_q8.c. */
#include "ebq_cm.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

#define X_ZERO -5.6f /* below: the numerator rounds to 0 */

/* ebq_exp(x) for x in [-5.6, 0], operation for operation: v = x log2 e <= 0 rounds as
 * (int)(v - 0.5) (for v = -0 or +0 the ref's v + 0.5 truncates to the same 0) */
static inline float exp_neg(float x) {
    const float v = x * 0x1.715476p+0f;
    return ebq_exp_core(x, (int32_t)(v - 0.5f));
}

/* e[T] (int8 values in int16) <- s[T]; returns Z = sum(e) */
int32_t ebq_softmax_q8(int16_t *restrict e, const float *restrict s,
                       const uint8_t *restrict segs, uint32_t T) {
    uint32_t j1 = 0; /* the first unmasked key holds the max to begin with (the ref's `any`) */
    while (j1 < T && segs[j1] == 0) j1++;
    float mx = j1 < T ? s[j1] : 0.0f;
    for (uint32_t j = j1 + 1u; j < T; j++)
        if (segs[j] != 0 && s[j] > mx) mx = s[j];
    int32_t Z = 0;
    for (uint32_t j = 0; j < T; j++) {
        int16_t v = 0;
        if (segs[j] != 0) {
            const float x = s[j] - mx;
            if (!(x < X_ZERO)) {   /* one compare: x >= -5.6, or NaN (unordered) */
                if (x != x) {      /* NaN scores: ebq_exp(NaN) = 1, as in the ref */
                    v = 127;
                } else {
                    /* p * 127 is in [0, 127.0001]: sat_i8 reduces to round-half-up and min */
                    const int32_t q = (int32_t)(exp_neg(x) * 127.0f + 0.5f);
                    v = (int16_t)(q > 127 ? 127 : q);
                }
            }
        }
        e[j] = v;
        Z += v;
    }
    return Z;
}
