/* Softmax numerators for Cortex-M: the ref's numerics, with the work skipped where the result
 * is known. e = sat_i8(127 * ebq_exp(x)), x = s - max <= 0, is 0 for every x < -5.6
 * (127 e^-5.6 = 0.47 < 0.5, far outside ebq_exp's 3e-7 error), so those keys cost a compare.
 * On [-5.6, 0], e is a step function of the bits of -x with 127 steps: a table lookup gives it
 * (ebq_e127_tab.h, generated and checked against ebq_exp on every float of the range by
 * runtime_c/tools/ebq_gen_e127.c), ~10 instructions instead of the ~30 of the exp. A row
 * without padding (the usual case, found with one word test per 4 keys) runs loops that never
 * read segs. The max starts at the first unmasked key, as the ref's. Same bits as
 * src/ref/ebq_softmax_q8.c. */
#include "ebq_cm.h"
#include "ebq_e127_tab.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

#define X_ZERO -5.6f /* below: the numerator rounds to 0 */

/* sat_i8(127 * ebq_exp(x)) for x in [-5.6, 0] or NaN: u = bits of |x| picks the bucket, the
 * borrow of entry - (low bits of u) the step inside it (ebq_e127_tab.h). Below the table
 * (|x| < 0.0039, also x = +-0) e = 127, and so for NaN (ebq_exp(NaN) = 1, as in the ref),
 * whose bucket index lies past the table too. */
static inline int32_t e127(float x) {
    const uint32_t u = ebq_f32_bits(x) & 0x7fffffffu;
    const uint32_t i = (u >> EBQ_E127_SHIFT) - EBQ_E127_B0;
    if (i >= EBQ_E127_N) return 127;
    return (int32_t)((ebq_e127_tab[i] - (u & ((1u << EBQ_E127_SHIFT) - 1u))) >> 24);
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
    memset(e, 0, (size_t)T * sizeof *e);
    int32_t Z = 0;
#pragma GCC unroll 2
    for (uint32_t j = 0; j < T; j++) {
        if (masked && segs[j] == 0) continue;
        const float x = s[j] - mx;
        if (x < X_ZERO) continue; /* one compare: x >= -5.6, or NaN (unordered), go on */
        const int32_t v = e127(x);
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
        uint32_t j = 1;
        for (; j + 4u <= T; j += 4u) { /* four keys per pass, in key order (ties: the first) */
            const float s0 = s[j], s1 = s[j + 1u], s2 = s[j + 2u], s3 = s[j + 3u];
            if (s0 > mx) mx = s0;
            if (s1 > mx) mx = s1;
            if (s2 > mx) mx = s2;
            if (s3 > mx) mx = s3;
        }
        for (; j < T; j++)
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
