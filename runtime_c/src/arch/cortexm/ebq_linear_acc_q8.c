/* Linear layer added into its output, for Cortex-M: groups of four tokens add the residual in
 * the epilogue of the 2 x 4 tiles (no pass over tmp and y); the rest as src/ref does it. Same
 * bits as src/ref/ebq_linear_acc_q8.c. */
#include "ebq_cm_linear.h"
#include "embbert/kernels.h"

/* y[n][rows] <- y + (W . x + bias) as ebq_linear_q8 computes it; tmp[n][rows] scratch */
void ebq_linear_q8_acc(float *restrict y, float *restrict tmp, const int8_t *restrict xq,
                       const float *restrict xs, const float *restrict xo, uint32_t n,
                       const ebq_qtensor *restrict w) {
    const uint32_t rows = w->rows, cols = w->cols, no = w->n_outliers;
    uint32_t i = 0;
    for (; n - i >= 4u; i += 4u) {
        const int8_t *x0 = xq + (size_t)i * cols;
        const int8_t *const xt[4] = {x0, x0 + cols, x0 + 2u * cols, x0 + 3u * cols};
        if (!ebq_cm_linear4(y + (size_t)i * rows, w, xt, xs + i, no ? xo + (size_t)i * no : xo,
                            1))
            break;
    }
    if (i == n) return;
    ebq_linear_q8(tmp, xq + (size_t)i * cols, xs + i, no ? xo + (size_t)i * no : xo, n - i, w);
    float *yi = y + (size_t)i * rows;
    for (uint32_t c = 0; c < (n - i) * rows; c++) yi[c] = yi[c] + tmp[c];
}
