/* Linear layer, int8 x int8 -> int32 per block, FP16 block scales, float outlier columns. */
#include "embbert/kernels.h"
#include "embbert/numerics.h"

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
            const int8_t *wr = w->q + (size_t)o * cols;
            const uint16_t *sr = w->scale + (size_t)o * nb;
            float acc_f = 0.0f;
            for (uint32_t b = 0; b < nb; b++) {
                const uint32_t c0 = b * bl, c1 = (c0 + bl < cols) ? c0 + bl : cols;
                int32_t acc = 0;
                for (uint32_t c = c0; c < c1; c++) acc += (int32_t)wr[c] * (int32_t)x[c];
                acc_f = acc_f + (float)acc * ebq_f16_to_f32(sr[b]);
            }
            float v = acc_f * xs[i];
            for (uint32_t m = 0; m < no; m++)
                v = v + xoi[m] * ebq_f16_to_f32(w->outlier_w[(size_t)o * no + m]);
            if (w->bias) v = v + w->bias[o];
            yi[o] = v;
        }
    }
}
