/* Linear layer added into its output (the residual sum after the pointwise conv). */
#include "embbert/kernels.h"

/* y[n][rows] <- y + (W . x + bias) as ebq_linear_q8 computes it; tmp[n][rows] scratch */
void ebq_linear_q8_acc(float *restrict y, float *restrict tmp, const int8_t *restrict xq,
                       const float *restrict xs, const float *restrict xo, uint32_t n,
                       const ebq_qtensor *restrict w) {
    ebq_linear_q8(tmp, xq, xs, xo, n, w);
    for (uint32_t c = 0; c < n * w->rows; c++) y[c] = y[c] + tmp[c];
}
