/* RMSNorm fused with the static int8 quantization of hn, for Cortex-M: the ref's float
 * sequence, with the rounding done as ebq_cm_sat_i8 does it (no compares or branches per
 * element). On Cortex-M the sum of squares takes eight values per VLDM (one VMLA each, in
 * order) and the quantization four (h_inv > 0): one VLDM, x * r, then EBQ_CM_ASM_ROUND4 with
 * the clamp. Same bits as src/ref/ebq_rmsnorm_q8.c. */
#include <math.h>

#include "ebq_cm.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

#if EBQ_CM_NATIVE && defined(__GNUC__) && defined(__ARM_FP)
#define RMS_ASM 1

/* ss + x[0]^2 + ... + x[7]^2 in order (VMLA: each product rounded, then the sum); x += 8 */
static inline float sumsq8(float ss, const float **x) {
    __asm__ volatile("vldmia %[x]!, {s0-s7}\n\t"
                     "vmla.f32 %[ss], s0, s0\n\tvmla.f32 %[ss], s1, s1\n\t"
                     "vmla.f32 %[ss], s2, s2\n\tvmla.f32 %[ss], s3, s3\n\t"
                     "vmla.f32 %[ss], s4, s4\n\tvmla.f32 %[ss], s5, s5\n\t"
                     "vmla.f32 %[ss], s6, s6\n\tvmla.f32 %[ss], s7, s7"
                     : [ss] "+t"(ss), [x] "+r"(*x)
                     :
                     : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "memory");
    return ss;
}

/* (*h)[0..4) <- ebq_cm_sat_i8(((*x)[k] * r) * hinv) for hinv > 0, both pointers advanced by
 * 4 */
static inline void quant4(int8_t **h, const float **x, float r, float hinv) {
    static const float HALF4[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    uint32_t a0, a1, b0, b1;
    __asm__ volatile("vldmia %[x]!, {s0-s3}\n\t"
                     "vmul.f32 s0, s0, %[r]\n\tvmul.f32 s1, s1, %[r]\n\t"
                     "vmul.f32 s2, s2, %[r]\n\tvmul.f32 s3, s3, %[r]\n\t" EBQ_CM_ASM_ROUND4("1")
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [b0] "=&r"(b0), [b1] "=&r"(b1),
                       [x] "+r"(*x), [q] "+r"(*h)
                     : [r] "t"(r), [m] "t"(hinv), [half] "r"(HALF4)
                     : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
                       "memory");
}
#else
#define RMS_ASM 0
#endif

/* h[d] int8, ho[n_idx] FP16 <- x[d] */
void ebq_rmsnorm_q8(int8_t *restrict h, uint16_t *restrict ho, const float *restrict x,
                    uint32_t d, float eps, float h_inv, const uint16_t *restrict idx,
                    uint32_t n_idx) {
    float ss = 0.0f;
    uint32_t c = 0;
#if RMS_ASM
    const float *xp = x;
    for (; c + 8u <= d; c += 8u) ss = sumsq8(ss, &xp);
#endif
#pragma GCC unroll 4
    for (; c < d; c++) ss = ebq_cm_mla(ss, x[c], x[c]); /* sequential, as the ref */
    const float ms = ss / (float)d;
    const float r = 1.0f / sqrtf(ms + eps);
    c = 0;
#if RMS_ASM
    int8_t *hp = h;
    xp = x;
    const float hi = ebq_cm_keep(h_inv);
    if (h_inv > 0.0f)
        for (; c + 4u <= d; c += 4u) quant4(&hp, &xp, r, hi);
#endif
#pragma GCC unroll 4
    for (; c < d; c++) h[c] = (int8_t)ebq_cm_sat_i8((x[c] * r) * h_inv);
    for (uint32_t m = 0; m < n_idx; m++) {
        ho[m] = ebq_f32_to_f16(x[idx[m]] * r);
        h[idx[m]] = 0;
    }
}
