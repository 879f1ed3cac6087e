/* RMSNorm fused with the static int8 quantization of hn, for Cortex-M: the ref's float
 * sequence, with the rounding done by ebq_cm_sat_i8 (no compares or branches per element).
 * Same bits as src/ref/ebq_rmsnorm_q8.c. */
#include <math.h>

#include "ebq_cm.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* h[d] int8, ho[n_idx] FP16 <- x[d] */
void ebq_rmsnorm_q8(int8_t *restrict h, uint16_t *restrict ho, const float *restrict x,
                    uint32_t d, float eps, float h_inv, const uint16_t *restrict idx,
                    uint32_t n_idx) {
    float ss = 0.0f;
#pragma GCC unroll 4
    for (uint32_t c = 0; c < d; c++) ss = ebq_cm_mla(ss, x[c], x[c]); /* sequential, as the ref */
    const float ms = ss / (float)d;
    const float r = 1.0f / sqrtf(ms + eps);
#pragma GCC unroll 4
    for (uint32_t c = 0; c < d; c++) h[c] = (int8_t)ebq_cm_sat_i8((x[c] * r) * h_inv);
    for (uint32_t m = 0; m < n_idx; m++) {
        ho[m] = ebq_f32_to_f16(x[idx[m]] * r);
        h[idx[m]] = 0;
    }
}
