/* The reference softmax-numerator loops, shared by src/ref (the whole row) and the vectorized
 * kernels (their tail keys and rows with a NaN score), so both stay operation-for-operation
 * identical with the Python simulation. */
#ifndef EBQ_SOFTMAX_ROWS_H
#define EBQ_SOFTMAX_ROWS_H

#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* max over the unmasked keys, in key order: keeps the first of equal scores, never picks a
 * later NaN; 0 when every key is masked */
static inline float ebq_softmax_max(const float *restrict s, const uint8_t *restrict segs,
                                    uint32_t T) {
    float mx = 0.0f;
    int any = 0;
    for (uint32_t j = 0; j < T; j++) {
        if (segs[j] == 0) continue;
        if (!any || s[j] > mx) mx = s[j];
        any = 1;
    }
    return mx;
}

/* keys j0 .. T-1: e[j] = sat_i8(127 * ebq_exp(s - mx)), 0 on masked keys; returns their sum */
static inline int32_t ebq_softmax_numerators(int16_t *restrict e, const float *restrict s,
                                             const uint8_t *restrict segs, uint32_t j0,
                                             uint32_t T, float mx) {
    int32_t Z = 0;
    for (uint32_t j = j0; j < T; j++) {
        e[j] = segs[j] == 0 ? 0 : ebq_sat_i8(ebq_exp(s[j] - mx) * 127.0f);
        Z += e[j];
    }
    return Z;
}

#endif /* EBQ_SOFTMAX_ROWS_H */
