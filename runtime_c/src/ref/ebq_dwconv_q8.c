/* Causal depthwise Conv1D, one output row at a time, int8 hn x int8 taps -> int32 per block. */
#include "embbert/kernels.h"
#include "ref_loops.h"

/* c[n][a*d] <- rows t .. t+n-1 (zeros before row 0) */
void ebq_dwconv_q8(float *restrict c, const int8_t *restrict H, const uint16_t *restrict HO,
                   uint32_t ho_stride, uint32_t t, uint32_t n, uint32_t d, uint32_t a,
                   float h_scale, const ebq_qtensor *restrict w) {
    for (uint32_t i = 0; i < n; i++) {
        float *ci = c + (size_t)i * w->rows;
        ebq_ref_dwconv_int8_row(ci, H, t + i, d, a, h_scale, w);
        ebq_ref_dwconv_outliers_row(ci, HO, ho_stride, t + i, a, w);
    }
}
