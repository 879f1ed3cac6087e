/* Attention scores of query rows against every key (K = hn, int8). */
#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* s[n][T] <- q[n][d] . H[T][d] (+ float outlier channels) */
void ebq_attn_scores(float *restrict s, const int8_t *restrict q, const float *restrict qs,
                     const float *restrict qo, uint32_t n_o, uint32_t n,
                     const int8_t *restrict H, const uint16_t *restrict HO, uint32_t ho_stride,
                     const uint8_t *restrict segs, uint32_t T, uint32_t d) {
    for (uint32_t i = 0; i < n; i++) {
        const int8_t *qi = q + (size_t)i * d;
        const float *qoi = n_o ? qo + (size_t)i * n_o : qo; /* qo may be NULL */
        for (uint32_t j = 0; j < T; j++) {
            if (segs[j] == 0) continue; /* padded key: never attended */
            const int8_t *hj = H + (size_t)j * d;
            int32_t acc = 0;
            for (uint32_t c = 0; c < d; c++) acc += (int32_t)qi[c] * (int32_t)hj[c];
            float v = (float)acc * qs[i];
            for (uint32_t m = 0; m < n_o; m++)
                v = v + qoi[m] * ebq_f16_to_f32(HO[(size_t)j * ho_stride + m]);
            s[(size_t)i * T + j] = v;
        }
    }
}
