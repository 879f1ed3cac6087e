/* Causal depthwise Conv1D, one output row t, int8 hn x int8 taps -> int32 per block. */
#include "embbert/kernels.h"
#include "embbert/numerics.h"
#include "../dwconv_outliers.h"

/* one output row t: c[a*d] <- w[a*d][k] * H[t-k+1 .. t][d] (zeros before row 0) */
static void dwconv_row(float *restrict c, const int8_t *restrict H, const uint16_t *restrict HO,
                       uint32_t ho_stride, uint32_t t, uint32_t d, uint32_t a, float h_scale,
                       const ebq_qtensor *restrict w) {
    const uint32_t k = w->cols, bl = w->block, nb = w->n_blocks, rows = w->rows;
    /* tap j reads row t + j - (k - 1); taps below j0 fall before row 0 */
    const uint32_t j0 = (t + 1 >= k) ? 0u : k - 1u - t;
    for (uint32_t ch = 0; ch < rows; ch++) {
        const uint32_t ic = ch / a;
        const int8_t *wr = w->q + (size_t)ch * k;
        const uint16_t *sr = w->scale + (size_t)ch * nb;
        float acc_f = 0.0f;
        for (uint32_t b = 0; b < nb; b++) {
            const uint32_t c0 = b * bl, c1 = (c0 + bl < k) ? c0 + bl : k;
            int32_t acc = 0;
            for (uint32_t j = (c0 > j0 ? c0 : j0); j < c1; j++)
                acc += (int32_t)wr[j] * (int32_t)H[(size_t)(t + j - (k - 1u)) * d + ic];
            acc_f = acc_f + (float)acc * ebq_f16_to_f32(sr[b]);
        }
        acc_f = acc_f * h_scale;
        c[ch] = acc_f + w->bias[ch];
    }
    ebq_dwconv_outliers_row(c, HO, ho_stride, t, a, w);
}

/* c[n][a*d] <- rows t .. t+n-1 */
void ebq_dwconv_q8(float *restrict c, const int8_t *restrict H, const uint16_t *restrict HO,
                   uint32_t ho_stride, uint32_t t, uint32_t n, uint32_t d, uint32_t a,
                   float h_scale, const ebq_qtensor *restrict w) {
    for (uint32_t i = 0; i < n; i++)
        dwconv_row(c + (size_t)i * w->rows, H, HO, ho_stride, t + i, d, a, h_scale, w);
}
