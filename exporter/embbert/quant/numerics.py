"""Float32 / FP16 / int8 primitives shared bit for bit by the Python simulation and the C runtime.

Every function here has a C twin in runtime_c (include/embbert/numerics.h, src/ref/ebq_exp.c).
They use only IEEE-754 float32 operations that are correctly rounded (+ - * / sqrt, int<->float
conversion), evaluated in the same order on both sides, so the results are identical bits.
Constants are written as hex floats so that Python and C read the same float32 value.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32

# ebq_exp constants (hex floats, exact float32 values; the C source uses the same literals)
EXP_LO = F32(float.fromhex("-0x1.5cp+6"))        # -87.0: below it, exp is clamped
EXP_HI = F32(float.fromhex("0x1.6p+6"))          # 88.0: e^88 < FLT_MAX
LOG2E = F32(float.fromhex("0x1.715476p+0"))      # log2(e)
LN2_HI = F32(float.fromhex("0x1.63p-1"))         # ln 2, high part (few bits: n*LN2_HI exact)
LN2_LO = F32(float.fromhex("-0x1.bd0106p-13"))   # ln 2 - LN2_HI
EXP_C = [F32(float.fromhex(h)) for h in (       # Taylor coefficients 1/k!, k = 2..6
    "0x1p-1", "0x1.555556p-3", "0x1.555556p-5", "0x1.111112p-7", "0x1.6c16c2p-10")]
TINY = F32(float.fromhex("0x1p-100"))            # row absmax below this counts as zero
HALF = F32(0.5)
ONE = F32(1.0)
Q127 = F32(127.0)


def f32(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def round_away_f32(v: np.ndarray) -> np.ndarray:
    """trunc(v + copysign(0.5, v)) in float32: round half away from zero (as C does it)."""
    v = f32(v)
    return np.trunc(v + np.where(v >= 0, HALF, -HALF).astype(np.float32))


def sat_i8(v: np.ndarray) -> np.ndarray:
    """float32 -> int8 in [-127, 127], rounding half away from zero; NaN -> 0 (ebq_sat_i8)."""
    v = f32(v)
    with np.errstate(invalid="ignore"):
        c = np.clip(v, -Q127, Q127)
        c = np.where(np.isnan(c), F32(0.0), c).astype(np.float32)
    return round_away_f32(c).astype(np.int8)


def round_to_int(v: np.ndarray) -> np.ndarray:
    """float32 -> int32 rounding half away from zero (caller guarantees the range)."""
    return round_away_f32(v).astype(np.int32)


def exp_f32(x: np.ndarray) -> np.ndarray:
    """ebq_exp: e^x for float32 x, clamped to [-87, 88]; relative error < 2e-7.

    Range reduction x = n ln2 + r (Cody-Waite, two-part ln 2), a degree-6 Taylor polynomial for
    e^r on |r| <= 0.35 (Horner), and 2^n built from the exponent bits. Identical in C.
    """
    x = f32(x)
    with np.errstate(invalid="ignore"):
        x = np.minimum(np.maximum(x, EXP_LO), EXP_HI)
    n = round_to_int(x * LOG2E)                                 # [-126, 127]
    nf = n.astype(np.float32)
    r = x - nf * LN2_HI
    r = r - nf * LN2_LO
    p = EXP_C[4]
    p = EXP_C[3] + r * p
    p = EXP_C[2] + r * p
    p = EXP_C[1] + r * p
    p = EXP_C[0] + r * p
    p = ONE + r * p
    p = ONE + r * p
    scale = ((n + 127).astype(np.uint32) << np.uint32(23)).view(np.float32)
    return (p * scale).astype(np.float32)


def silu_f32(c: np.ndarray) -> np.ndarray:
    """c / (1 + ebq_exp(-c)) in float32 (ebq_silu)."""
    c = f32(c)
    return (c / (ONE + exp_f32(-c))).astype(np.float32)


def f16_bits(x: np.ndarray) -> np.ndarray:
    """float -> FP16 bit pattern (round to nearest even, as numpy and ebq_f32_to_f16 do)."""
    with np.errstate(over="ignore"):
        return np.asarray(x, dtype=np.float32).astype(np.float16).view(np.uint16)


def f16_value(bits: np.ndarray) -> np.ndarray:
    """FP16 bit pattern -> float32 (exact)."""
    return np.asarray(bits, dtype=np.uint16).view(np.float16).astype(np.float32)


def quant_row(v: np.ndarray, outliers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ebq_quantize_row over the last axis: per-row absmax int8 with outlier channels held out.

    v [..., n] float32 -> (q [..., n] int8 with outlier channels 0, scale [...] float32,
    vo [..., n_out] float32 = v at the outlier channels).
    """
    v = f32(v)
    vo = v[..., outliers] if len(outliers) else np.zeros(v.shape[:-1] + (0,), np.float32)
    a = np.abs(v)
    if len(outliers):
        a = a.copy()
        a[..., outliers] = 0
    with np.errstate(invalid="ignore"):
        amax = np.max(np.where(np.isnan(a), F32(0), a), axis=-1)
    live = amax >= TINY
    safe = np.where(live, amax, ONE).astype(np.float32)
    inv = np.where(live, Q127 / safe, F32(0)).astype(np.float32)
    scale = np.where(live, safe / Q127, F32(0)).astype(np.float32)
    q = sat_i8(v * inv[..., None])
    if len(outliers):
        q[..., outliers] = 0
    return q, scale, vo


def hex_f32(x: float) -> str:
    """Exact C literal of a float32 value: hex float with an f suffix."""
    v = float(np.float32(x))
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueError("non-finite float in model data")
    if v == 0:
        return "-0x0p+0f" if np.signbit(np.float32(x)) else "0x0p+0f"
    mant, exp = v.hex().split("p")
    mant = mant.rstrip("0").rstrip(".")
    return f"{mant}p{exp}f"


# The one table of numerical tolerances the tests use (C vs simulation, and approximations vs
# exact math). Integer results are always compared exactly.
TOLERANCES = {
    "kernel_float_ulp": 0,          # C kernel float outputs == Python simulation, bit for bit
    "model_logit_ulp": 0,           # ebq_infer logits == QuantModel.logits, bit for bit
    "exp_rel": 3e-7,                # ebq_exp vs e^x on [-87, 88]
    "silu_abs": 1e-6,               # ebq_silu vs x * sigmoid(x), absolute, |x| <= 20
    "sim_vs_fp32_cosine_min": 0.99,  # quantized vs fp32 logits, random realistic models
    "sim_vs_fp32_argmax_min": 0.95,  # argmax agreement on random models with close logits
}
