/* Dynamic per-row int8 quantization with outlier channels held out in float. */
#include "embbert/kernels.h"
#include "ref_loops.h"

/* q[n] int8, *scale, vo[n_idx] <- v[n] */
void ebq_quantize_row(int8_t *restrict q, float *restrict scale, float *restrict vo,
                      const float *restrict v, uint32_t n, const uint16_t *restrict idx,
                      uint32_t n_idx) {
    ebq_ref_quantize_row(q, scale, vo, v, n, idx, n_idx);
}
