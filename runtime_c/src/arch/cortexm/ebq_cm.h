/* Shared helpers of the Cortex-M kernels: the ACLE DSP intrinsics they use, unaligned-safe
 * word loads, and FP16 -> float in one instruction where the FPU has it.
 *
 * On an ARM target with the DSP extension (Cortex-M4/M7/M33) the intrinsics come from
 * <arm_acle.h>. Anywhere else (the host tests) they are defined below in plain C with the same
 * bit-level semantics, so the same kernel sources run on the host against the ref kernels.
 *
 * Operand layout used by every kernel: a word of four int8 values (x0, x1, x2, x3) splits with
 * SXTB16 into the halfword pairs (x0, x2) and (x1, x3) (SXTB16 of the word rotated by 8). Both
 * operands of a dot product split the same way, so SMLAD(xa, wa) + SMLAD(xb, wb) is the sum of
 * the four products, and the weights need no re-ordering at export. */
#ifndef EBQ_ARCH_CORTEXM_CM_H
#define EBQ_ARCH_CORTEXM_CM_H

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__GNUC__) && !defined(__clang__)
/* GCC's first scheduling pass hoists the loads of an unrolled SMLAD chain far ahead and then
 * runs out of the 13 core registers (spills: ~1.25 instead of ~1.0 instructions per MAC). The
 * Cortex-M4/M7 pipelines are in order and gain little from it, so the kernels switch it off.
 * Must come before any function definition of the including file. */
#pragma GCC optimize("no-schedule-insns")
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "embbert/numerics.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define EBQ_CM_NATIVE 1

static inline uint32_t ebq_cm_sxtb16(uint32_t x) { return (uint32_t)__sxtb16((int32_t)x); }

/* acc + lo(a) * lo(b) + hi(a) * hi(b) */
static inline int32_t ebq_cm_smlad(uint32_t a, uint32_t b, int32_t acc) {
    return __smlad((int32_t)a, (int32_t)b, acc);
}
#else
#define EBQ_CM_NATIVE 0

static inline int32_t ebq_cm_lo16(uint32_t x) { return (int16_t)(uint16_t)(x & 0xffffu); }
static inline int32_t ebq_cm_hi16(uint32_t x) { return (int16_t)(uint16_t)(x >> 16); }

/* bytes 0 and 2, sign-extended into the low and high halfwords */
static inline uint32_t ebq_cm_sxtb16(uint32_t x) {
    const uint32_t lo = (uint32_t)(int32_t)(int8_t)(uint8_t)(x & 0xffu) & 0xffffu;
    const uint32_t hi = (uint32_t)(int32_t)(int8_t)(uint8_t)((x >> 16) & 0xffu) & 0xffffu;
    return lo | (hi << 16);
}

/* acc + lo(a) * lo(b) + hi(a) * hi(b), wrapping like the instruction (never reached here) */
static inline int32_t ebq_cm_smlad(uint32_t a, uint32_t b, int32_t acc) {
    const int64_t s = (int64_t)acc + (int64_t)ebq_cm_lo16(a) * ebq_cm_lo16(b) +
                      (int64_t)ebq_cm_hi16(a) * ebq_cm_hi16(b);
    return (int32_t)(uint32_t)(uint64_t)s;
}
#endif

/* bytes 1 and 3: SXTB16 of the word rotated right by 8 (one instruction; GCC does not fold
 * the rotation into SXTB16 by itself) */
static inline uint32_t ebq_cm_sxtb16_ror8(uint32_t x) {
#if EBQ_CM_NATIVE && defined(__GNUC__)
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
#else
    return ebq_cm_sxtb16((x >> 8) | (x << 24));
#endif
}

/* (low halfword of a, low halfword of b): PKHBT a, b, LSL #16 */
static inline uint32_t ebq_cm_pkhbt(uint32_t a, uint32_t b) {
    return (a & 0xffffu) | (b << 16);
}

/* (high halfword of a, high halfword of b): PKHTB b, a, ASR #16 */
static inline uint32_t ebq_cm_pkhtt(uint32_t a, uint32_t b) {
    return (a >> 16) | (b & 0xffff0000u);
}

/* p, hidden from the optimizer: loads through it cannot be hoisted out of the enclosing loop
 * (GCC otherwise lifts a whole loop-invariant operand row into spilled registers) */
#if defined(__GNUC__)
#define EBQ_CM_OPAQUE(p) (__extension__({ __typeof__(p) q_ = (p); __asm__("" : "+r"(q_)); q_; }))
#else
#define EBQ_CM_OPAQUE(p) (p)
#endif

/* One 4-column step of a 1 x 4 tile: int8 row p (columns 4k .. 4k+3) against four rows
 * widened to int16 pairs and interleaved in xw (8 words per step: row 0 even, odd, row 1 ...),
 * into the sums a0..a3 of the caller: the int8 word is loaded and split once for the four
 * rows, 16 MACs = LDR + 2 SXTB16 + 4 LDRD + 8 SMLAD with 10 registers live (linear layers:
 * one weight row x four tokens; scores: one key x four queries) */
#define EBQ_CM_STEP14(k, p, xw)                                                            \
    do {                                                                                   \
        const uint32_t pv_ = ebq_cm_ld32((p) + 4u * (k));                                  \
        const uint32_t pe_ = ebq_cm_sxtb16(pv_), po_ = ebq_cm_sxtb16_ror8(pv_);            \
        uint32_t xa_, xb_;                                                                 \
        EBQ_CM_LDRD(xa_, xb_, xw, 32u * (k));                                              \
        a0 = ebq_cm_smlad(pe_, xa_, a0), a0 = ebq_cm_smlad(po_, xb_, a0);                  \
        EBQ_CM_LDRD(xa_, xb_, xw, 32u * (k) + 8u);                                         \
        a1 = ebq_cm_smlad(pe_, xa_, a1), a1 = ebq_cm_smlad(po_, xb_, a1);                  \
        EBQ_CM_LDRD(xa_, xb_, xw, 32u * (k) + 16u);                                        \
        a2 = ebq_cm_smlad(pe_, xa_, a2), a2 = ebq_cm_smlad(po_, xb_, a2);                  \
        EBQ_CM_LDRD(xa_, xb_, xw, 32u * (k) + 24u);                                        \
        a3 = ebq_cm_smlad(pe_, xa_, a3), a3 = ebq_cm_smlad(po_, xb_, a3);                  \
    } while (0)

/* 4 bytes from any address (one LDR on Cortex-M, which allows unaligned word loads) */
static inline uint32_t ebq_cm_ld32(const void *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* lo, hi <- words p[OFF / 4], p[OFF / 4 + 1] in one LDRD (OFF a constant byte offset; GCC
 * splits a 64-bit load into two LDRs when the halves go to different instructions) */
#if EBQ_CM_NATIVE && defined(__GNUC__)
#define EBQ_CM_LDRD(lo, hi, p, OFF)                                                        \
    __asm__("ldrd %0, %1, [%2, %3]"                                                        \
            : "=r"(lo), "=r"(hi)                                                           \
            : "r"(p), "i"(OFF), "m"(*(const uint32_t(*)[2])((p) + (OFF) / 4u)))
#else
#define EBQ_CM_LDRD(lo, hi, p, OFF) ((lo) = (p)[(OFF) / 4u], (hi) = (p)[(OFF) / 4u + 1u])
#endif

static inline uint32_t ebq_cm_ld16(const void *p) {
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* FP16 bit pattern -> float, exact either way (VCVTB with the default FPSCR: IEEE half,
 * no flush-to-zero, so subnormals convert exactly as ebq_f16_to_f32 does; every FPv4/FPv5
 * FPU of a Cortex-M4F/M7/M33 has it although __ARM_FP does not advertise it) */
static inline float ebq_cm_f16(uint16_t h) {
#if defined(__GNUC__) && defined(__ARM_FP) && (__ARM_FP & 4) && \
    (defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__))
    float in = ebq_f32_from_bits(h), out;
    __asm__("vcvtb.f32.f16 %0, %1" : "=t"(out) : "t"(in));
    return out;
#else
    return ebq_f16_to_f32(h);
#endif
}

/* the two FP16 halves of a word -> floats (VCVTB, VCVTT): two scales from one load */
static inline void ebq_cm_f16x2(uint32_t h2, float *lo, float *hi) {
#if defined(__GNUC__) && defined(__ARM_FP) && (__ARM_FP & 4) && \
    (defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__))
    float in = ebq_f32_from_bits(h2), a, b;
    __asm__("vcvtb.f32.f16 %0, %2\n\tvcvtt.f32.f16 %1, %2" : "=&t"(a), "=t"(b) : "t"(in));
    *lo = a, *hi = b;
#else
    *lo = ebq_f16_to_f32((uint16_t)(h2 & 0xffffu)), *hi = ebq_f16_to_f32((uint16_t)(h2 >> 16));
#endif
}

/* acc + a * b with the product rounded first: VMLA.F32 is the chained (not fused)
 * multiply-accumulate of FPv4/FPv5, the same bits as a VMUL then a VADD in one instruction */
static inline float ebq_cm_mla(float acc, float a, float b) {
#if EBQ_CM_NATIVE && defined(__GNUC__) && defined(__ARM_FP)
    __asm__("vmla.f32 %0, %1, %2" : "+t"(acc) : "t"(a), "t"(b));
    return acc;
#else
    const float p = a * b;
    return acc + p;
#endif
}

/* acc - a * b with the product rounded first (VMLS.F32, chained like VMLA) */
static inline float ebq_cm_mls(float acc, float a, float b) {
#if EBQ_CM_NATIVE && defined(__GNUC__) && defined(__ARM_FP)
    __asm__("vmls.f32 %0, %1, %2" : "+t"(acc) : "t"(a), "t"(b));
    return acc;
#else
    const float p = a * b;
    return acc - p;
#endif
}

/* v, kept in a register: GCC otherwise rebuilds a float constant (VMOV) in every loop pass.
 * An Arm soft-float build (-mfloat-abi=soft: no __ARM_FP) has no FPU register to keep it in. */
static inline float ebq_cm_keep(float v) {
#if defined(__GNUC__) && (defined(__ARM_FP) || !defined(__arm__))
    __asm__("" : "+t"(v));
#endif
    return v;
}

/* float -> int32 rounding toward zero, saturating, NaN -> 0: what VCVT.S32.F32 does (the C
 * cast is undefined out of range, so the host twin spells the cases out) */
static inline int32_t ebq_cm_cvt_sat(float x) {
#if EBQ_CM_NATIVE && defined(__GNUC__) && defined(__ARM_FP)
    float r;
    __asm__("vcvt.s32.f32 %0, %1" : "=t"(r) : "t"(x));
    return (int32_t)ebq_f32_bits(r);
#else
    if (x != x) return 0;
    if (x >= 0x1p31f) return INT32_MAX;
    if (x <= -0x1p31f) return INT32_MIN;
    return (int32_t)x;
#endif
}

/* The constants of ebq_exp_core, kept in registers by the loops that call it (GCC reloads
 * or rebuilds them in every pass otherwise) */
typedef struct {
    float l2e, ln2_hi, ln2_lo, c6, c5, c4, c3, half, one, s127;
} ebq_cm_exp_consts;

static inline ebq_cm_exp_consts ebq_cm_exp_consts_kept(void) {
    ebq_cm_exp_consts k;
    k.l2e = ebq_cm_keep(0x1.715476p+0f), k.ln2_hi = ebq_cm_keep(0x1.63p-1f);
    k.ln2_lo = ebq_cm_keep(-0x1.bd0106p-13f), k.c6 = ebq_cm_keep(0x1.6c16c2p-10f);
    k.c5 = ebq_cm_keep(0x1.111112p-7f), k.c4 = ebq_cm_keep(0x1.555556p-5f);
    k.c3 = ebq_cm_keep(0x1.555556p-3f), k.half = ebq_cm_keep(0.5f);
    k.one = ebq_cm_keep(1.0f), k.s127 = ebq_cm_keep(127.0f);
    return k;
}

/* e^r of ebq_exp_core (numerics.h), r = x - nf ln2, operation for operation, on kept
 * constants (the caller scales by 2^n); the two reduction steps r - nf * ln2 are VMLS
 * (chained: the bits of VMUL + VSUB) */
static inline float ebq_cm_exp_poly(float x, float nf, const ebq_cm_exp_consts *k) {
    float r = ebq_cm_mls(x, nf, k->ln2_hi);
    r = ebq_cm_mls(r, nf, k->ln2_lo);
    float p = k->c6;
    p = k->c5 + r * p;
    p = k->c4 + r * p;
    p = k->c3 + r * p;
    p = k->half + r * p;
    p = k->one + r * p;
    return k->one + r * p;
}

/* min(v, 127) for v >= 0 (USAT #7) */
static inline int32_t ebq_cm_usat7(int32_t v) {
#if EBQ_CM_NATIVE && defined(__ARM_FEATURE_SAT)
    return (int32_t)__usat(v, 7);
#else
    return v > 127 ? 127 : v;
#endif
}

/* ebq_round_i32 (round half away from zero) for |v| < 2^31, branch-free: sign(v) *
 * trunc(|v| + 0.5); |v| + 0.5 rounds exactly as the ref's v + 0.5 / v - 0.5 (round to nearest
 * is symmetric) */
static inline int32_t ebq_cm_round(float v) {
    const int32_t t = ebq_cm_cvt_sat(fabsf(v) + 0.5f);
    const int32_t s = (int32_t)ebq_f32_bits(v) >> 31; /* 0 or -1 */
    return (t ^ s) - s;
}

/* max(m, b << 1): m holds twice the largest sign-cleared float bits so far, so the shift drops
 * the sign (CMP with a shifted operand, IT, LSL: 3 instructions instead of BIC, CMP, IT, MOV) */
static inline uint32_t ebq_cm_max_lsl1(uint32_t m, uint32_t b) {
#if EBQ_CM_NATIVE && defined(__GNUC__)
    __asm__("cmp %0, %1, lsl #1\n\tit cc\n\tlslcc %0, %1, #1" : "+r"(m) : "r"(b) : "cc");
    return m;
#else
    return (b << 1) > m ? (b << 1) : m;
#endif
}

/* t with the sign of the float bits b: (t ^ s) - s, s = b >> 31 arithmetic (EOR and SUB with
 * the shift in the operand: 2 instructions) */
static inline int32_t ebq_cm_signfix(int32_t t, uint32_t b) {
#if EBQ_CM_NATIVE && defined(__GNUC__)
    __asm__("eor %0, %0, %1, asr #31\n\tsub %0, %0, %1, asr #31" : "+r"(t) : "r"(b));
    return t;
#else
    const int32_t s = (int32_t)b >> 31; /* 0 or -1 */
    return (t ^ s) - s;
#endif
}

/* ebq_sat_i8 for every input, branch-free: sign(v) * min(trunc(|v| + 0.5), 127). |v| + 0.5
 * rounds exactly as the ref's v + 0.5 / v - 0.5 (round to nearest is symmetric), the clamp
 * before the add cannot change the truncated result, and NaN converts to 0. */
static inline int32_t ebq_cm_sat_i8(float v) {
    const float a = fabsf(v) + 0.5f; /* VABS + VADD */
    const int32_t t = ebq_cm_usat7(ebq_cm_cvt_sat(a));
    const int32_t s = (int32_t)ebq_f32_bits(v) >> 31; /* 0 or -1 */
    return (t ^ s) - s;
}

/* Assembly text of a 4-value rounding step after the values y0-y3 are in s0-s3: the int8
 * sign(y) * trunc(|y| * m + 0.5) (with CLAMP "1" the magnitude first clamped to 127, USAT) as
 * the bytes %[q][0..4), %[q] advanced by 4. |y| * m + 0.5 is one VMLA into four 0.5f loaded
 * from %[half] (the chained VMLA rounds the product, then the sum: for m > 0 the bits of
 * ebq_cm_round / ebq_cm_sat_i8 of y * m, whose sign is y's); the sign goes in with EOR/SUB
 * with the float bits in the shifted operand. Scratch operands %[a0], %[a1], %[b0], %[b1];
 * clobbers s0-s11. */
#define EBQ_CM_ASM_ROUND4(CLAMP)                                                               \
    "vldmia %[half], {s4-s7}\n\t"                                                              \
    "vabs.f32 s8, s0\n\tvabs.f32 s9, s1\n\tvabs.f32 s10, s2\n\tvabs.f32 s11, s3\n\t"           \
    "vmla.f32 s4, s8, %[m]\n\tvmla.f32 s5, s9, %[m]\n\t"                                       \
    "vmla.f32 s6, s10, %[m]\n\tvmla.f32 s7, s11, %[m]\n\t"                                     \
    "vcvt.s32.f32 s4, s4\n\tvcvt.s32.f32 s5, s5\n\t"                                           \
    "vcvt.s32.f32 s6, s6\n\tvcvt.s32.f32 s7, s7\n\t"                                           \
    "vmov %[a0], %[a1], s6, s7\n\t" /* values 2, 3 */                                          \
    "vmov %[b0], %[b1], s2, s3\n\t"                                                            \
    ".if " CLAMP "\n\tusat %[a0], #7, %[a0]\n\tusat %[a1], #7, %[a1]\n\t.endif\n\t"            \
    "eor %[a0], %[a0], %[b0], asr #31\n\tsub %[a0], %[a0], %[b0], asr #31\n\t"                 \
    "eor %[a1], %[a1], %[b1], asr #31\n\tsub %[a1], %[a1], %[b1], asr #31\n\t"                 \
    "strb %[a0], [%[q], #2]\n\tstrb %[a1], [%[q], #3]\n\t"                                     \
    "vmov %[a0], %[a1], s4, s5\n\t" /* values 0, 1 */                                          \
    "vmov %[b0], %[b1], s0, s1\n\t"                                                            \
    ".if " CLAMP "\n\tusat %[a0], #7, %[a0]\n\tusat %[a1], #7, %[a1]\n\t.endif\n\t"            \
    "eor %[a0], %[a0], %[b0], asr #31\n\tsub %[a0], %[a0], %[b0], asr #31\n\t"                 \
    "eor %[a1], %[a1], %[b1], asr #31\n\tsub %[a1], %[a1], %[b1], asr #31\n\t"                 \
    "strb %[a1], [%[q], #1]\n\tstrb %[a0], [%[q]], #4"

#endif /* EBQ_ARCH_CORTEXM_CM_H */
