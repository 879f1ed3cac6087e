/* softmax(s) @ V for query rows, V = hn (int8, static scale): int8 x int8 -> int32. */
#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* a[n][d] <- e[n][T] . H[T][d] / Z[n] (+ float outlier channels) */
void ebq_attn_sum(float *restrict a, const int16_t *restrict e, const int32_t *restrict Z,
                  uint32_t n, const int8_t *restrict H, const uint16_t *restrict HO,
                  uint32_t ho_stride, uint32_t T, uint32_t d, float h_scale,
                  const uint16_t *restrict idx, uint32_t n_idx) {
    for (uint32_t i = 0; i < n; i++) {
        const int16_t *ei = e + (size_t)i * T;
        float *ai = a + (size_t)i * d;
        if (Z[i] <= 0) {
            for (uint32_t c = 0; c < d; c++) ai[c] = 0.0f;
            continue;
        }
        const float zf = (float)Z[i];
        const float az = h_scale / zf;
        for (uint32_t c = 0; c < d; c++) {
            int32_t acc = 0;
            for (uint32_t j = 0; j < T; j++)
                acc += (int32_t)ei[j] * (int32_t)H[(size_t)j * d + c];
            ai[c] = (float)acc * az;
        }
        for (uint32_t m = 0; m < n_idx; m++) {
            float v = 0.0f;
            for (uint32_t j = 0; j < T; j++)
                v = v + (float)ei[j] * ebq_f16_to_f32(HO[(size_t)j * ho_stride + m]);
            ai[idx[m]] = v / zf;
        }
    }
}
