/* Softmax numerators as int8 values (127 at the max); normalized later by their sum Z. */
#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* e[T] (int8 values in int16) <- s[T]; returns Z = sum(e) */
int32_t ebq_softmax_q8(int16_t *restrict e, const float *restrict s,
                       const uint8_t *restrict segs, uint32_t T) {
    float mx = 0.0f;
    int any = 0;
    for (uint32_t j = 0; j < T; j++) {
        if (segs[j] == 0) continue;
        if (!any || s[j] > mx) mx = s[j];
        any = 1;
    }
    int32_t Z = 0;
    for (uint32_t j = 0; j < T; j++) {
        if (segs[j] == 0) {
            e[j] = 0;
            continue;
        }
        e[j] = ebq_sat_i8(ebq_exp(s[j] - mx) * 127.0f);
        Z += e[j];
    }
    return Z;
}
