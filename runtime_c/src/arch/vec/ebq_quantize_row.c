/* Dynamic per-row int8 quantization for hosts with SIMD (see ebq_vec.h): the ref's numerics in
 * loops without branches, which the compiler vectorizes. absmax: for non-NaN floats |a| < |b|
 * exactly when the sign-cleared bit patterns compare so as unsigned integers (an unsigned max);
 * a NaN or an infinity among the non-outlier channels sends the row to the reference walk.
 * Rounding: sign(y) * trunc(|y| + 0.5) equals the ref's round half away from zero (|y| + 0.5
 * rounds as y +- 0.5 does); |y| <= 127 (1 + 2^-23) off the outlier channels, and the outlier
 * channels (any value, overwritten with 0 below) are clamped so the conversion is defined.
 * Same bits as src/ref/ebq_quantize_row.c. */
#include "ebq_vec.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"
#include "../../ref/ref_loops.h"

static uint32_t absmax_bits(const float *restrict v, uint32_t c0, uint32_t c1, uint32_t m) {
    for (uint32_t c = c0; c < c1; c++) {
        const uint32_t b = ebq_f32_bits(v[c]) & 0x7fffffffu;
        m = b > m ? b : m;
    }
    return m;
}

/* q[n] int8, *scale, vo[n_idx] <- v[n] */
void ebq_quantize_row(int8_t *restrict q, float *restrict scale, float *restrict vo,
                      const float *restrict v, uint32_t n, const uint16_t *restrict idx,
                      uint32_t n_idx) {
    uint32_t mb = 0, c0 = 0;
    for (uint32_t m = 0; m < n_idx; m++) { /* the runs between outlier channels */
        if (idx[m] < c0 || idx[m] >= n) { /* not strictly increasing: the ref's walk */
            mb = 0xffffffffu;
            break;
        }
        mb = absmax_bits(v, c0, idx[m], mb);
        c0 = idx[m] + 1u;
    }
    if (mb != 0xffffffffu) mb = absmax_bits(v, c0, n, mb);
    if (mb >= 0x7f800000u) { /* NaN or infinity (or an odd outlier list): the reference */
        ebq_ref_quantize_row(q, scale, vo, v, n, idx, n_idx);
        return;
    }
    const float amax = ebq_f32_from_bits(mb);
    if (amax >= 0x1p-100f) {
        const float inv = 127.0f / amax;
        *scale = amax / 127.0f;
        for (uint32_t c = 0; c < n; c++) {
            const float y = v[c] * inv;
            float a = ebq_f32_from_bits(ebq_f32_bits(y) & 0x7fffffffu) + 0.5f;
            a = a < 127.5f ? a : 127.5f; /* outlier channels only; NaN -> 127.5 */
            const int32_t t = (int32_t)a, s = (int32_t)ebq_f32_bits(y) >> 31;
            q[c] = (int8_t)((t ^ s) - s);
        }
    } else {
        *scale = 0.0f;
        for (uint32_t c = 0; c < n; c++) q[c] = 0;
    }
    for (uint32_t m = 0; m < n_idx; m++) {
        vo[m] = v[idx[m]];
        q[idx[m]] = 0;
    }
}
