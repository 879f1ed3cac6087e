/* Bit-exact float32 / FP16 / int8 primitives, mirrored by exporter/embbert/quant/numerics.py.
 * Only correctly rounded IEEE operations, in a fixed order: compile without -ffast-math and
 * with -ffp-contract=off (no fused multiply-add), or the Python simulation will not match. */
#ifndef EMBBERT_NUMERICS_H
#define EMBBERT_NUMERICS_H

#include <stdint.h>
#include <string.h>

/* v + 0.5 away from zero, for rounding by truncation. LLVM's Xtensa backend cannot select
 * between two float constants, so there it adds copysign(0.5, v) instead: the same value for
 * every v but -0, where both sums truncate to 0. */
static inline float ebq_add_half_away(float v) {
#if defined(__clang__) && defined(__XTENSA__)
    return v + __builtin_copysignf(0.5f, v);
#else
    return v + (v >= 0.0f ? 0.5f : -0.5f);
#endif
}

/* float -> int8 in [-127, 127], round half away from zero, NaN -> 0. */
static inline int8_t ebq_sat_i8(float v) {
    if (v != v) return 0;
    if (v > 127.0f) v = 127.0f;
    if (v < -127.0f) v = -127.0f;
    return (int8_t)(int32_t)ebq_add_half_away(v);
}

/* float -> int32, round half away from zero; the caller guarantees the range. */
static inline int32_t ebq_round_i32(float v) {
    return (int32_t)ebq_add_half_away(v);
}

static inline float ebq_f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t ebq_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* FP16 bit pattern -> float (exact). */
static inline float ebq_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (uint32_t)(h >> 10) & 0x1fu;
    uint32_t m = (uint32_t)h & 0x3ffu;
    if (e == 0u) {
        float f = (float)m * 0x1p-24f; /* zero or subnormal, exact */
        return sign ? -f : f;
    }
    if (e == 31u) return ebq_f32_from_bits(sign | 0x7f800000u | (m << 13));
    return ebq_f32_from_bits(sign | ((e + 112u) << 23) | (m << 13));
}

/* float -> FP16 bit pattern, round to nearest even (as numpy's astype(float16)). */
static inline uint16_t ebq_f32_to_f16(float f) {
    uint32_t x = ebq_f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);   /* NaN */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  /* >= 65520: infinity */
    if (ax < 0x38800000u) {                                    /* below 2^-14: subnormal */
        float t = ebq_f32_from_bits(ax) + 0.5f;                /* FPU rounds to 2^-24 steps */
        return (uint16_t)(sign | (ebq_f32_bits(t) - 0x3f000000u));
    }
    uint32_t u = ax - 0x38000000u + 0xfffu + ((ax >> 13) & 1u); /* rebias, round to even */
    return (uint16_t)(sign | (u >> 13));
}

/* e^x, clamped to [-87, 88]; relative error < 3e-7; bit-exact with numerics.exp_f32. */
float ebq_exp(float x);

/* The core of ebq_exp once n = round(x log2 e) is known (x = n ln2 + r, two-part ln 2; e^r by a
 * degree-6 Taylor polynomial in Horner form; 2^n from bits). Shared by every ISA's kernels so
 * that inlined copies stay operation-for-operation identical. */
static inline float ebq_exp_core(float x, int32_t n) {
    const float nf = (float)n;
    float r = x - nf * 0x1.63p-1f;
    r = r - nf * -0x1.bd0106p-13f;
    float p = 0x1.6c16c2p-10f;
    p = 0x1.111112p-7f + r * p;
    p = 0x1.555556p-5f + r * p;
    p = 0x1.555556p-3f + r * p;
    p = 0x1p-1f + r * p;
    p = 1.0f + r * p;
    p = 1.0f + r * p;
    return p * ebq_f32_from_bits((uint32_t)(n + 127) << 23);
}

#endif /* EMBBERT_NUMERICS_H */
