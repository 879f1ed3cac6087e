/* Softmax numerators for Cortex-M: the ref's numerics, with the work skipped where the result
 * is known. e = sat_i8(127 * ebq_exp(x)), x = s - max <= 0, is 0 for every x < -5.6
 * (127 e^-5.6 = 0.47 < 0.5, far outside ebq_exp's 3e-7 error), so those keys cost a compare;
 * the rest run ebq_exp's exact operation sequence without the clamps it cannot hit there
 * (x in [-5.6, 0]: no clamp, n in [-8, 0], rounded without a sign test; ebq_cm_exp_core).
 * A row without padding (the
 * usual case, found with one word test per 4 keys) runs loops that never read segs. The max
 * starts at the first unmasked key, as the ref's. Same bits as src/ref/ebq_softmax_q8.c. */
#include "ebq_cm.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

#define X_ZERO -5.6f /* below: the numerator rounds to 0 */

/* ebq_exp(x) for x in [-5.6, 0], operation for operation (ebq_exp_core): v = x log2 e <= 0
 * rounds as (int)(v - 0.5) (for v = -0 or +0 the ref's v + 0.5 truncates to the same 0) */
static inline float exp_neg(float x, const ebq_cm_exp_consts *k) {
    const float v = x * k->l2e;
    return ebq_cm_exp_core(x, ebq_cm_cvt_sat(v - k->half), k);
}

/* 1 if some key is masked (a zero byte in segs[0 .. T)) */
static int any_masked(const uint8_t *restrict segs, uint32_t T) {
    uint32_t j = 0, z = 0;
    for (; j + 4u <= T; j += 4u) { /* a zero byte: (w - 0x01..) & ~w & 0x80.. */
        const uint32_t w = ebq_cm_ld32(segs + j);
        z |= (w - 0x01010101u) & ~w & 0x80808080u;
    }
    for (; j < T; j++) z |= segs[j] == 0;
    return z != 0u;
}

/* The numerator loop; masked: whether segs can hold a 0 (else it is not read). Most keys
 * are below the cut: e is cleared first (memset) and the loop writes only the others. */
static inline __attribute__((always_inline)) int32_t numerators(
    int16_t *restrict e, const float *restrict s, const uint8_t *restrict segs, uint32_t T,
    float mx, int masked) {
    const ebq_cm_exp_consts k = ebq_cm_exp_consts_kept();
    memset(e, 0, (size_t)T * sizeof *e);
    int32_t Z = 0;
#pragma GCC unroll 2
    for (uint32_t j = 0; j < T; j++) {
        if (masked && segs[j] == 0) continue;
        const float x = s[j] - mx;
        if (x < X_ZERO) continue; /* one compare: x >= -5.6, or NaN (unordered), go on */
        int32_t v = 127;          /* NaN scores: ebq_exp(NaN) = 1, as in the ref */
        if (x == x) /* p * 127 is in [0, 127.0001]: sat_i8 reduces to round-half-up, min */
            v = ebq_cm_usat7(ebq_cm_cvt_sat(exp_neg(x, &k) * k.s127 + k.half));
        e[j] = (int16_t)v;
        Z += v;
    }
    return Z;
}

/* e[T] (int8 values in int16) <- s[T]; returns Z = sum(e) */
int32_t ebq_softmax_q8(int16_t *restrict e, const float *restrict s,
                       const uint8_t *restrict segs, uint32_t T) {
    if (T == 0u) return 0;
    if (!any_masked(segs, T)) {
        float mx = s[0];
        for (uint32_t j = 1; j < T; j++)
            if (s[j] > mx) mx = s[j];
        return numerators(e, s, segs, T, mx, 0);
    }
    uint32_t j1 = 0; /* the first unmasked key holds the max to begin with (the ref's `any`) */
    while (j1 < T && segs[j1] == 0) j1++;
    float mx = j1 < T ? s[j1] : 0.0f;
    for (uint32_t j = j1 + 1u; j < T; j++)
        if (segs[j] != 0 && s[j] > mx) mx = s[j];
    return numerators(e, s, segs, T, mx, 1);
}
