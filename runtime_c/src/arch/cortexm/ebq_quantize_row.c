/* Dynamic per-row int8 quantization for Cortex-M: the ref's numerics in fewer instructions.
 *
 * absmax: for non-NaN floats |a| < |b| exactly when the sign-cleared bit patterns compare so as
 * unsigned integers, so the max runs on the core registers (LDR, BIC, CMP, IT, MOV) instead of
 * VCMP + VMRS per element; a NaN (which the ref's `a > amax` skips) shows up as a pattern above
 * infinity and sends the row to the reference loop. Rounding: ebq_cm_sat_i8 (VABS, VADD, VCVT,
 * sign fix-up, no compares). Same bits as src/ref/ebq_quantize_row.c. */
#include "ebq_cm.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* max over c in [c0, c1) of the sign-cleared bits of v[c] */
static inline uint32_t absmax_bits(const float *restrict v, uint32_t c0, uint32_t c1,
                                   uint32_t m) {
#pragma GCC unroll 4
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
    float amax;
    if (mb > 0x7f800000u) { /* NaN somewhere (or odd outlier list): the reference walk */
        amax = 0.0f;
        uint32_t m = 0;
        for (uint32_t c = 0; c < n; c++) {
            if (m < n_idx && idx[m] == c) {
                m++;
                continue;
            }
            const float a = v[c] < 0.0f ? -v[c] : v[c];
            if (a > amax) amax = a;
        }
    } else {
        amax = ebq_f32_from_bits(mb);
    }
    if (amax >= 0x1p-100f) {
        const float inv = 127.0f / amax;
        *scale = amax / 127.0f;
        /* |v * inv| <= 127 (1 + 2^-23) off the outlier channels: no clamp needed (the outlier
         * channels, which may exceed it, are overwritten below) */
#pragma GCC unroll 4
        for (uint32_t c = 0; c < n; c++) q[c] = (int8_t)ebq_cm_round(v[c] * inv);
    } else {
        *scale = 0.0f;
        for (uint32_t c = 0; c < n; c++) q[c] = 0;
    }
    for (uint32_t m = 0; m < n_idx; m++) {
        vo[m] = v[idx[m]];
        q[idx[m]] = 0;
    }
}
