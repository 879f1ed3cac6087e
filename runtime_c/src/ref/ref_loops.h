/* The reference loops of the kernels, one copy each: src/ref/ runs them as they are, and the
 * optimized kernels of every ISA fall back on them for the cases their fast paths do not take
 * (odd shapes, rows with NaN, cold outlier channels). Keeping a single copy keeps every
 * fallback operation-for-operation identical with the Python simulation. */
#ifndef EBQ_REF_LOOPS_H
#define EBQ_REF_LOOPS_H

#include <math.h>

#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* ---- linear ---- */

/* one output row before the row scale: sum over blocks b of (float)sum_int(wr[b] * x[b]) *
 * scale[b], sequential over the blocks */
static inline float ebq_ref_linear_blocks(const int8_t *restrict wr, const uint16_t *restrict sr,
                                          const int8_t *restrict x, uint32_t cols, uint32_t bl,
                                          uint32_t nb) {
    float acc_f = 0.0f;
    for (uint32_t b = 0; b < nb; b++) {
        const uint32_t c0 = b * bl, c1 = (c0 + bl < cols) ? c0 + bl : cols;
        int32_t acc = 0;
        for (uint32_t c = c0; c < c1; c++) acc += (int32_t)wr[c] * (int32_t)x[c];
        acc_f = acc_f + (float)acc * ebq_f16_to_f32(sr[b]);
    }
    return acc_f;
}

/* ---- RMSNorm ---- */

/* 1 / sqrt(mean(x^2) + eps), the sum of squares sequential in channel order */
static inline float ebq_ref_rms_inv(const float *restrict x, uint32_t d, float eps) {
    float ss = 0.0f;
    for (uint32_t c = 0; c < d; c++) ss = ss + x[c] * x[c];
    const float ms = ss / (float)d;
    return 1.0f / sqrtf(ms + eps);
}

/* the outlier channels idx[m]: x * r out to ho as FP16, zeroed in h */
static inline void ebq_ref_rmsnorm_outliers(int8_t *restrict h, uint16_t *restrict ho,
                                            const float *restrict x, float r,
                                            const uint16_t *restrict idx, uint32_t n_idx) {
    for (uint32_t m = 0; m < n_idx; m++) {
        ho[m] = ebq_f32_to_f16(x[idx[m]] * r);
        h[idx[m]] = 0;
    }
}

/* ---- row quantization ---- */

/* ebq_quantize_row as specified in kernels.h: absmax walk in channel order (NaN never wins),
 * then sat_i8 of every channel; outlier channels out to vo and zeroed */
static inline void ebq_ref_quantize_row(int8_t *restrict q, float *restrict scale,
                                        float *restrict vo, const float *restrict v, uint32_t n,
                                        const uint16_t *restrict idx, uint32_t n_idx) {
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

/* ---- depthwise causal conv ---- */

/* output row t of the int8 channels: c[ch] = (sum over blocks (float)sum_int(w * H) * scale)
 * * h_scale + bias; tap j reads row t + j - (k - 1), taps below j0 fall before row 0 */
static inline void ebq_ref_dwconv_int8_row(float *restrict c, const int8_t *restrict H,
                                           uint32_t t, uint32_t d, uint32_t a, float h_scale,
                                           const ebq_qtensor *restrict w) {
    const uint32_t k = w->cols, bl = w->block, nb = w->n_blocks, rows = w->rows;
    const uint32_t j0 = (t + 1u >= k) ? 0u : k - 1u - t;
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
}

/* The outlier input channels (a few per layer, a cold path): their full kernels run in float
 * over the FP16 copies of hn, in the order the Python simulation sums them.
 * Output row t: c[outlier rows] <- bias + sum_j w_o[j] * HO[t - k + 1 + j] (zeros before
 * row 0). */
static inline void ebq_ref_dwconv_outliers_row(float *restrict c, const uint16_t *restrict HO,
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

/* ---- softmax numerators ---- */

/* max over the unmasked keys, in key order: keeps the first of equal scores, never picks a
 * later NaN; 0 when every key is masked */
static inline float ebq_ref_softmax_max(const float *restrict s, const uint8_t *restrict segs,
                                    uint32_t T) {
    float mx = 0.0f;
    int any = 0;
    for (uint32_t j = 0; j < T; j++) {
        if (segs[j] == 0) continue;
        if (!any || s[j] > mx) mx = s[j];
        any = 1;
    }
    return mx;
}

/* keys j0 .. T-1: e[j] = sat_i8(127 * ebq_exp(s - mx)), 0 on masked keys; returns their sum */
static inline int32_t ebq_ref_softmax_numerators(int16_t *restrict e, const float *restrict s,
                                             const uint8_t *restrict segs, uint32_t j0,
                                             uint32_t T, float mx) {
    int32_t Z = 0;
    for (uint32_t j = j0; j < T; j++) {
        e[j] = segs[j] == 0 ? 0 : ebq_sat_i8(ebq_exp(s[j] - mx) * 127.0f);
        Z += e[j];
    }
    return Z;
}

#endif /* EBQ_REF_LOOPS_H */
