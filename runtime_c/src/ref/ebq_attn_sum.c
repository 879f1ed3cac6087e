/* softmax(s) @ V for one query row, V = hn (int8, static scale): int8 x int8 -> int32. */
#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* a[d] <- e[T] . H[T][d] / Z (+ float outlier channels) */
void ebq_attn_sum(float *restrict a, const int8_t *restrict e, int32_t Z,
                  const int8_t *restrict H, const uint16_t *restrict HO, uint32_t ho_stride,
                  uint32_t T, uint32_t d, float h_scale, const uint16_t *restrict idx,
                  uint32_t n_idx) {
    if (Z <= 0) {
        for (uint32_t c = 0; c < d; c++) a[c] = 0.0f;
        return;
    }
    const float zf = (float)Z;
    const float az = h_scale / zf;
    for (uint32_t c = 0; c < d; c++) {
        int32_t acc = 0;
        for (uint32_t j = 0; j < T; j++) acc += (int32_t)e[j] * (int32_t)H[(size_t)j * d + c];
        a[c] = (float)acc * az;
    }
    for (uint32_t m = 0; m < n_idx; m++) {
        float v = 0.0f;
        for (uint32_t j = 0; j < T; j++)
            v = v + (float)e[j] * ebq_f16_to_f32(HO[(size_t)j * ho_stride + m]);
        a[idx[m]] = v / zf;
    }
}
