/* Dynamic per-row int8 quantization for Cortex-M: the ref's numerics in fewer instructions.
 *
 * absmax: for non-NaN floats |a| < |b| exactly when the sign-cleared bit patterns compare so as
 * unsigned integers, so the max runs on the core registers: twice the bits (the shift drops the
 * sign) in CMP with a shifted operand, IT, LSL; a NaN (which the ref's `a > amax` skips) shows
 * up as a pattern above infinity and sends the row to the reference loop. Rounding: ebq_cm_round
 * (|p| + 0.5, VCVT, sign of p fixed up), four values at a time on Cortex-M: one VLDM, then
 * EBQ_CM_ASM_ROUND4 (ebq_cm.h).
 * Same bits as src/ref/ebq_quantize_row.c. */
#include "ebq_cm.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"
#include "../../ref/ref_loops.h"

/* max of m and 2x the sign-cleared bits of v[c], c in [c0, c1) */
static inline uint32_t absmax_bits2(const float *restrict v, uint32_t c0, uint32_t c1,
                                    uint32_t m) {
    const float *p = v + c0, *end = v + c1;
#if EBQ_CM_NATIVE && defined(__GNUC__)
    const float *end8 = p + ((c1 - c0) & ~7u);
    while (p != end8) { /* 8 values: 4 LDRD (post-increment) and 8 x (CMP, IT, LSL) */
        uint32_t a, b;
        __asm__ volatile(
            "ldrd %[a], %[b], [%[p]], #8\n\t"
            "cmp %[m], %[a], lsl #1\n\tit cc\n\tlslcc %[m], %[a], #1\n\t"
            "cmp %[m], %[b], lsl #1\n\tit cc\n\tlslcc %[m], %[b], #1\n\t"
            "ldrd %[a], %[b], [%[p]], #8\n\t"
            "cmp %[m], %[a], lsl #1\n\tit cc\n\tlslcc %[m], %[a], #1\n\t"
            "cmp %[m], %[b], lsl #1\n\tit cc\n\tlslcc %[m], %[b], #1\n\t"
            "ldrd %[a], %[b], [%[p]], #8\n\t"
            "cmp %[m], %[a], lsl #1\n\tit cc\n\tlslcc %[m], %[a], #1\n\t"
            "cmp %[m], %[b], lsl #1\n\tit cc\n\tlslcc %[m], %[b], #1\n\t"
            "ldrd %[a], %[b], [%[p]], #8\n\t"
            "cmp %[m], %[a], lsl #1\n\tit cc\n\tlslcc %[m], %[a], #1\n\t"
            "cmp %[m], %[b], lsl #1\n\tit cc\n\tlslcc %[m], %[b], #1"
            : [m] "+r"(m), [p] "+r"(p), [a] "=&r"(a), [b] "=&r"(b)
            :
            : "cc", "memory");
    }
#endif
    for (; p != end; p++) m = ebq_cm_max_lsl1(m, ebq_f32_bits(*p));
    return m;
}

/* (*q)[0..4) <- ebq_cm_round((*v)[k] * inv), both pointers advanced by 4 (inv > 0; no clamp:
 * the caller's |v * inv| <= 127 (1 + 2^-23) off the outlier channels) */
static inline void round4(int8_t **q, const float **v, float inv) {
#if EBQ_CM_NATIVE && defined(__GNUC__) && defined(__ARM_FP)
    static const float HALF4[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    uint32_t a0, a1, b0, b1;
    __asm__ volatile("vldmia %[v]!, {s0-s3}\n\t" EBQ_CM_ASM_ROUND4("0")
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [b0] "=&r"(b0), [b1] "=&r"(b1),
                       [v] "+r"(*v), [q] "+r"(*q)
                     : [m] "t"(inv), [half] "r"(HALF4)
                     : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
                       "memory");
#else
    for (uint32_t k = 0; k < 4u; k++) (*q)[k] = (int8_t)ebq_cm_round((*v)[k] * inv);
    *q += 4, *v += 4;
#endif
}

/* q[n] int8, *scale, vo[n_idx] <- v[n] */
void ebq_quantize_row(int8_t *restrict q, float *restrict scale, float *restrict vo,
                      const float *restrict v, uint32_t n, const uint16_t *restrict idx,
                      uint32_t n_idx) {
    uint32_t mb = 0, c0 = 0; /* mb: twice the largest sign-cleared bits */
    int walk = 0;
    for (uint32_t m = 0; m < n_idx; m++) { /* the runs between outlier channels */
        if (idx[m] < c0 || idx[m] >= n) { /* not strictly increasing: the ref's walk */
            walk = 1;
            break;
        }
        mb = absmax_bits2(v, c0, idx[m], mb);
        c0 = idx[m] + 1u;
    }
    if (!walk) mb = absmax_bits2(v, c0, n, mb);
    if (walk || mb > (0x7f800000u << 1)) { /* NaN somewhere (or odd outlier list): the ref */
        ebq_ref_quantize_row(q, scale, vo, v, n, idx, n_idx);
        return;
    }
    const float amax = ebq_f32_from_bits(mb >> 1);
    if (amax >= 0x1p-100f) {
        const float inv = 127.0f / amax;
        *scale = amax / 127.0f;
        /* |v * inv| <= 127 (1 + 2^-23) off the outlier channels: no clamp needed (the outlier
         * channels, which may exceed it, are overwritten below) */
        int8_t *qp = q;
        const float *vp = v, *end4 = v + (n & ~3u);
        while (vp != end4) round4(&qp, &vp, inv);
        for (uint32_t c = n & ~3u; c < n; c++) q[c] = (int8_t)ebq_cm_round(v[c] * inv);
    } else {
        *scale = 0.0f;
        for (uint32_t c = 0; c < n; c++) q[c] = 0;
    }
    for (uint32_t m = 0; m < n_idx; m++) {
        vo[m] = v[idx[m]];
        q[idx[m]] = 0;
    }
}
