/* Dynamic per-row int8 quantization with outlier channels held out in float. */
#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* q[n] int8, *scale, vo[n_idx] <- v[n] */
void ebq_quantize_row(int8_t *restrict q, float *restrict scale, float *restrict vo,
                      const float *restrict v, uint32_t n, const uint16_t *restrict idx,
                      uint32_t n_idx) {
    float amax = 0.0f;
    uint32_t m = 0;
    for (uint32_t c = 0; c < n; c++) {
        if (m < n_idx && idx[m] == c) { /* outlier channel: not in the absmax */
            m++;
            continue;
        }
        const float a = v[c] < 0.0f ? -v[c] : v[c];
        if (a > amax) amax = a;
    }
    if (amax >= 0x1p-100f) {
        const float inv = 127.0f / amax;
        *scale = amax / 127.0f;
        for (uint32_t c = 0; c < n; c++) q[c] = ebq_sat_i8(v[c] * inv);
    } else {
        *scale = 0.0f;
        for (uint32_t c = 0; c < n; c++) q[c] = 0;
    }
    for (m = 0; m < n_idx; m++) {
        vo[m] = v[idx[m]];
        q[idx[m]] = 0;
    }
}
