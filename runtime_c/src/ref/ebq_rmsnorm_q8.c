/* RMSNorm (gain folded into the next weights) fused with the static int8 quantization of hn. */
#include "embbert/kernels.h"
#include "embbert/numerics.h"
#include "ref_loops.h"

/* h[d] int8, ho[n_idx] FP16 <- x[d] */
void ebq_rmsnorm_q8(int8_t *restrict h, uint16_t *restrict ho, const float *restrict x,
                    uint32_t d, float eps, float h_inv, const uint16_t *restrict idx,
                    uint32_t n_idx) {
    const float r = ebq_ref_rms_inv(x, d, eps);
    for (uint32_t c = 0; c < d; c++) h[c] = ebq_sat_i8((x[c] * r) * h_inv);
    ebq_ref_rmsnorm_outliers(h, ho, x, r, idx, n_idx);
}
