/* Softmax numerators as int8 values (127 at the max); normalized later by their sum Z. */
#include "embbert/kernels.h"
#include "ref_loops.h"

/* e[T] (int8 values in int16) <- s[T]; returns Z = sum(e) */
int32_t ebq_softmax_q8(int16_t *restrict e, const float *restrict s,
                       const uint8_t *restrict segs, uint32_t T) {
    return ebq_ref_softmax_numerators(e, s, segs, 0, T, ebq_ref_softmax_max(s, segs, T));
}
