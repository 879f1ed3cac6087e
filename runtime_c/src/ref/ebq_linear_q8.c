/* Linear layer, int8 x int8 -> int32 per block, FP16 block scales, float outlier columns. */
#include "embbert/kernels.h"
#include "embbert/numerics.h"
#include "ref_loops.h"

/* y[n][rows] <- W[rows][cols] . (xs[i] * xq[i][cols] + outliers xo[i][n_out]) + bias[rows] */
void ebq_linear_q8(float *restrict y, const int8_t *restrict xq, const float *restrict xs,
                   const float *restrict xo, uint32_t n, const ebq_qtensor *restrict w) {
    const uint32_t rows = w->rows, cols = w->cols, bl = w->block, nb = w->n_blocks;
    const uint32_t no = w->n_outliers;
    for (uint32_t i = 0; i < n; i++) {
        const int8_t *x = xq + (size_t)i * cols;
        const float *xoi = no ? xo + (size_t)i * no : xo; /* xo may be NULL */
        float *yi = y + (size_t)i * rows;
        for (uint32_t o = 0; o < rows; o++) {
            const float acc_f = ebq_ref_linear_blocks(w->q + (size_t)o * cols,
                                                      w->scale + (size_t)o * nb, x, cols, bl, nb);
            float v = acc_f * xs[i];
            for (uint32_t m = 0; m < no; m++)
                v = v + xoi[m] * ebq_f16_to_f32(w->outlier_w[(size_t)o * no + m]);
            if (w->bias) v = v + w->bias[o];
            yi[o] = v;
        }
    }
}
