/* The depthwise conv's outlier input channels, shared by every ISA's ebq_dwconv_q8: their full
 * kernels run in float over the FP16 copies of hn (a cold path: a few channels per layer), in
 * the order the Python simulation sums them. */
#ifndef EBQ_DWCONV_OUTLIERS_H
#define EBQ_DWCONV_OUTLIERS_H

#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* output row t: c[outlier rows] <- bias + sum_j w_o[j] * HO[t - k + 1 + j] (zeros before row 0) */
static inline void ebq_dwconv_outliers_row(float *restrict c, const uint16_t *restrict HO,
                                           uint32_t ho_stride, uint32_t t, uint32_t a,
                                           const ebq_qtensor *restrict w) {
    const uint32_t k = w->cols, j0 = (t + 1u >= k) ? 0u : k - 1u - t;
    for (uint32_t m = 0; m < w->n_outliers; m++) {
        for (uint32_t e = 0; e < a; e++) {
            const uint32_t row = (uint32_t)w->outlier_idx[m] * a + e;
            const uint16_t *wo = w->outlier_w + (size_t)(m * a + e) * k;
            float v = 0.0f;
            for (uint32_t j = j0; j < k; j++)
                v = v + ebq_f16_to_f32(wo[j]) *
                            ebq_f16_to_f32(HO[(size_t)(t + j - (k - 1u)) * ho_stride + m]);
            c[row] = v + w->bias[row];
        }
    }
}

#endif /* EBQ_DWCONV_OUTLIERS_H */
