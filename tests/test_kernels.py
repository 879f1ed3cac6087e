"""Each C reference kernel vs the Python integer simulation, on generated golden vectors.

The runtime is built as a shared library with the system cc (strict warnings) and called
through ctypes with structs built from the Python layout mirror. Integer results must be
exact; float results are held to quant.numerics.TOLERANCES (0 ulp: the kernels are bit-exact).
"""

from __future__ import annotations

import ctypes as C
import math

import numpy as np
import pytest
from embbert.cbuild import build_shared
from embbert.export.layout import STRUCTS
from embbert.quant import numerics as nm
from embbert.quant.quantize import QTensor, quantize_blocks, quantize_dwconv
from embbert.quant.simulate import linear, rmsnorm_q8

TOL = nm.TOLERANCES
P = np.ctypeslib.as_ctypes_type


def _ctype(kind: str):
    return {"u8": C.c_uint8, "u16": C.c_uint16, "u32": C.c_uint32, "f32": C.c_float,
            "ptr": C.c_void_p}.get(kind) or _STRUCT[kind]


_STRUCT: dict = {}
for _name, _fields in STRUCTS.items():
    _STRUCT[_name] = type(_name, (C.Structure,), {"_fields_": [
        (f, _ctype(k) * n if n > 1 else _ctype(k)) for f, k, n in _fields]})


_f, _u32, _i32, _vp = C.c_float, C.c_uint32, C.c_int32, C.c_void_p
# ctypes signatures of the kernel symbols (runtime_c/include/embbert/kernels.h)
KERNEL_SIGNATURES = {
    "ebq_exp": (_f, [_f]),
    "ebq_linear_q8": (None, [_vp, _vp, _vp, _vp, _u32, _vp]),
    "ebq_linear_q8_acc": (None, [_vp, _vp, _vp, _vp, _vp, _u32, _vp]),
    "ebq_quantize_row": (None, [_vp, _vp, _vp, _vp, _u32, _vp, _u32]),
    "ebq_rmsnorm_q8": (None, [_vp, _vp, _vp, _u32, _f, _f, _vp, _u32]),
    "ebq_attn_scores": (None, [_vp, _vp, _vp, _vp, _u32, _u32, _vp, _vp, _u32, _vp, _u32,
                               _u32]),
    "ebq_softmax_q8": (_i32, [_vp, _vp, _vp, _u32]),
    "ebq_attn_sum": (None, [_vp, _vp, _vp, _u32, _vp, _vp, _u32, _u32, _u32, _f, _vp, _u32]),
    "ebq_dwconv_q8": (None, [_vp, _vp, _vp, _u32, _u32, _u32, _u32, _u32, _f, _vp]),
    "ebq_silu_inplace": (None, [_vp, _u32]),
    "ebq_embed_row": (None, [_vp, _vp, _vp, _u32, _u32, _u32]),
}


def load_kernels(so) -> C.CDLL:
    """The runtime shared library with every kernel's ctypes signature set."""
    lib = C.CDLL(str(so))
    for name, (res, args) in KERNEL_SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    return load_kernels(build_shared(tmp_path_factory.mktemp("kernels")))


def ptr(a: np.ndarray | None):
    return None if a is None or a.size == 0 else a.ctypes.data


def qtensor_struct(t: QTensor, keep: list):
    arrs = [np.ascontiguousarray(x) for x in (t.q, t.scale, t.outlier_idx, t.outlier_w)]
    bias = None if t.bias is None else np.ascontiguousarray(t.bias, np.float32)
    keep += arrs + [bias]
    s = _STRUCT["ebq_qtensor"](ptr(arrs[0]), ptr(arrs[1]), ptr(arrs[2]), ptr(arrs[3]),
                               ptr(bias), t.rows, t.cols, t.block, t.n_blocks, t.n_outliers, 0)
    keep.append(s)
    return C.addressof(s)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    assert TOL["kernel_float_ulp"] == 0
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


RNG = np.random.default_rng(1234)


def test_exp_bit_exact_and_accurate(lib):
    x = np.concatenate([np.linspace(-100, 100, 2001), RNG.normal(0, 5, 3000),
                        -np.abs(RNG.normal(0, 1, 3000)), [0.0, -0.0, 87.5, -87.5, 1e-30]])
    x = x.astype(np.float32)
    c = np.array([lib.ebq_exp(float(v)) for v in x], np.float32)
    assert same_bits(c, nm.exp_f32(x))
    inside = (x >= -87) & (x <= 88)
    ref = np.exp(x[inside].astype(np.float64))
    rel = np.abs(c[inside] - ref) / ref
    print(f"ebq_exp max relative error {rel.max():.3g}")
    assert rel.max() < TOL["exp_rel"]


def test_silu(lib):
    x = np.concatenate([RNG.normal(0, 4, 2000), [-100, -20, 0, 20, 100]]).astype(np.float32)
    v = x.copy()
    lib.ebq_silu_inplace(ptr(v), len(v))
    assert same_bits(v, nm.silu_f32(x))
    small = np.abs(x) <= 20
    ref = x[small] / (1 + np.exp(-x[small].astype(np.float64)))
    assert np.abs(v[small] - ref).max() < TOL["silu_abs"] * max(1.0, np.abs(ref).max())


FP16_SHIM = r"""
#include <stddef.h>
#include "embbert/numerics.h"
void to_f16(uint16_t *o, const float *x, size_t n);
void from_f16(float *o, const uint16_t *h, size_t n);
void to_f16(uint16_t *o, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) o[i] = ebq_f32_to_f16(x[i]);
}
void from_f16(float *o, const uint16_t *h, size_t n) {
    for (size_t i = 0; i < n; i++) o[i] = ebq_f16_to_f32(h[i]);
}
"""


def test_fp16_conversions_match_numpy(tmp_path):
    """ebq_f32_to_f16 / ebq_f16_to_f32 (static inline) vs numpy, through a compiled shim."""
    import subprocess

    from embbert.cbuild import RUNTIME
    (tmp_path / "shim.c").write_text(FP16_SHIM)
    so = tmp_path / "shim.so"
    subprocess.run(["cc", "-std=c11", "-O2", "-ffp-contract=off", "-Wall", "-Werror", "-shared",
                    "-fPIC", f"-I{RUNTIME / 'include'}", "-o", str(so), str(tmp_path / "shim.c")],
                   check=True)
    shim = C.CDLL(str(so))
    for fn in (shim.to_f16, shim.from_f16):
        fn.restype, fn.argtypes = None, [C.c_void_p, C.c_void_p, C.c_size_t]
    edge = np.array([0.0, -0.0, 65504, 65519.99, 65520, 1e6, -1e6, 1e-8, 2 ** -24, 2 ** -25,
                     3 * 2 ** -26, 2 ** -14, 6.1e-5, 1 / 3, math.inf, -math.inf], np.float32)
    x = np.concatenate([edge, RNG.normal(0, 1, 20000) * 10.0 ** RNG.integers(-9, 6, 20000)])
    x = x.astype(np.float32)
    out = np.zeros(len(x), np.uint16)
    shim.to_f16(ptr(out), ptr(x), C.c_size_t(len(x)))
    assert np.array_equal(out, nm.f16_bits(x))
    bits = np.arange(0, 0x10000, dtype=np.uint16)
    bits = bits[(bits & 0x7c00) != 0x7c00]                       # finite values
    back = np.zeros(len(bits), np.float32)
    shim.from_f16(ptr(back), ptr(bits), C.c_size_t(len(bits)))
    assert same_bits(back, nm.f16_value(bits))


@pytest.mark.parametrize("rows,cols,n_out,bias", [(7, 16, 0, True), (33, 48, 2, True),
                                                  (16, 128, 3, False), (5, 100, 0, True)])
def test_linear_q8(lib, rows, cols, n_out, bias):
    w = RNG.normal(0, 0.2, (rows, cols))
    w[0, :] = 0.0                                           # an all-zero row: zero scales
    idx = np.sort(RNG.choice(cols, n_out, replace=False)).astype(np.uint16)
    t = quantize_blocks(w, idx, RNG.normal(0, 0.1, rows) if bias else None)
    for _ in range(5):
        v = RNG.normal(0, 2, (cols,)).astype(np.float32)
        xq, xs, xo = nm.quant_row(v, idx)
        keep: list = []
        y = np.zeros(rows, np.float32)
        xo = np.ascontiguousarray(xo, np.float32)
        xsa = np.array([xs], np.float32)
        lib.ebq_linear_q8(ptr(y), ptr(xq), ptr(xsa), ptr(xo), 1, qtensor_struct(t, keep))
        assert same_bits(y, linear(xq, xs, xo, t))


def test_quantize_row(lib):
    for n, n_out in [(16, 0), (128, 4), (48, 1)]:
        idx = np.sort(RNG.choice(n, n_out, replace=False)).astype(np.uint16)
        for v in [RNG.normal(0, 3, n), np.zeros(n), np.full(n, 1e-35),
                  np.where(RNG.random(n) < 0.5, 0.5, -0.5) * 254 / 127 * 3.0]:
            v = v.astype(np.float32)
            q = np.zeros(n, np.int8)
            s = np.zeros(1, np.float32)
            vo = np.zeros(max(n_out, 1), np.float32)
            lib.ebq_quantize_row(ptr(q), ptr(s), ptr(vo), ptr(v), n, ptr(idx), n_out)
            rq, rs, rvo = nm.quant_row(v, idx)
            assert np.array_equal(q, rq)
            assert same_bits(s[0], rs) and same_bits(vo[:n_out], rvo)


def test_rmsnorm_q8(lib):
    from embbert.quant.quantize import QLayer
    d = 64
    idx = np.array([3, 40], np.uint16)
    L = QLayer(q=None, out=None, dw=None, pw=None, h_scale=np.float32(4 / 127),
               h_inv=np.float32(127 / 4), h_outliers=idx, u_outliers=np.zeros(0, np.uint16))
    eps = np.float32(1.1920929e-07)
    for scale in (1e-3, 1.0, 50.0):
        x = (RNG.normal(0, scale, d)).astype(np.float32)
        x[3] *= 30
        h = np.zeros(d, np.int8)
        ho = np.zeros(2, np.uint16)
        lib.ebq_rmsnorm_q8(ptr(h), ptr(ho), ptr(x), d, float(eps), float(L.h_inv), ptr(idx), 2)
        rh, rho = rmsnorm_q8(x[None], eps, L)
        assert np.array_equal(h, rh[0]) and np.array_equal(ho, rho[0])


def attention_case(T, d, n_o, masked):
    """Random int8 keys H [T][d] (outlier channels zeroed), their FP16 outlier copies HO, the
    outlier channel list and segs with the last `masked` keys padded."""
    H = RNG.integers(-127, 128, (T, d)).astype(np.int8)
    idx = np.sort(RNG.choice(d, n_o, replace=False)).astype(np.uint16)
    H[:, idx] = 0
    HO = nm.f16_bits(RNG.normal(0, 8, (T, max(n_o, 1)))).astype(np.uint16)
    segs = np.ones(T, np.uint8)
    segs[T - masked:] = 0 if masked else 1
    return H, HO, idx, segs


@pytest.mark.parametrize("T,d,n_o,masked", [(1, 16, 0, 0), (9, 32, 2, 3), (64, 128, 4, 10),
                                             (5, 8, 1, 5)])
def test_attention_row(lib, T, d, n_o, masked):
    """scores -> int8 softmax -> softmax @ hn for one query row, each kernel on its own."""
    H, HO, idx, segs = attention_case(T, d, n_o, masked)
    stride = HO.shape[1]
    q = RNG.integers(-127, 128, d).astype(np.int8)
    qo = RNG.normal(0, 2, max(n_o, 1)).astype(np.float32)
    qs = np.float32(0.0123)
    s = np.zeros(T, np.float32)
    qsa = np.array([qs], np.float32)
    lib.ebq_attn_scores(ptr(s), ptr(q), ptr(qsa), ptr(qo), n_o, 1, ptr(H), ptr(HO), stride,
                        ptr(segs), T, d)
    acc = (q.astype(np.int64) @ H.T.astype(np.int64)).astype(np.float32)
    rs = acc * qs
    hof = nm.f16_value(HO)
    for m in range(n_o):
        rs = rs + qo[m] * hof[:, m]
    valid = segs != 0
    assert same_bits(s[valid], rs[valid])

    e = np.zeros(T, np.int16)
    Z = lib.ebq_softmax_q8(ptr(e), ptr(rs), ptr(segs), T)
    re = np.zeros(T, np.int8)
    if valid.any():
        re[valid] = nm.sat_i8(nm.exp_f32(rs[valid] - rs[valid].max()) * nm.Q127)
    assert np.array_equal(e, re) and Z == int(re.astype(np.int32).sum())

    sh = np.float32(3.9 / 127)
    a = np.zeros(d, np.float32)
    re16 = re.astype(np.int16)
    Za = np.array([Z], np.int32)
    lib.ebq_attn_sum(ptr(a), ptr(re16), ptr(Za), 1, ptr(H), ptr(HO), stride, T, d, float(sh),
                     ptr(idx), n_o)
    if Z == 0:
        ra = np.zeros(d, np.float32)
    else:
        Zf = np.float32(Z)
        ra = (re.astype(np.int64) @ H.astype(np.int64)).astype(np.float32) * (sh / Zf)
        for m, c in enumerate(idx):
            v = np.float32(0)
            for j in range(T):
                v = np.float32(v + np.float32(re[j]) * hof[j, m])
            ra[c] = v / Zf
    assert same_bits(a, ra)


@pytest.mark.parametrize("d,a,k,n_o,T", [(16, 1, 4, 0, 6), (8, 2, 5, 1, 9), (32, 1, 40, 2, 50),
                                          (16, 3, 32, 1, 3)])
def test_dwconv_q8(lib, d, a, k, n_o, T):
    idx = np.sort(RNG.choice(d, n_o, replace=False)).astype(np.uint16)
    t = quantize_dwconv(RNG.normal(0, 0.3, (a * d, k)), RNG.normal(0, 0.1, a * d), idx, a)
    H = RNG.integers(-127, 128, (T, d)).astype(np.int8)
    H[:, idx] = 0
    HO = nm.f16_bits(RNG.normal(0, 8, (T, max(n_o, 1)))).astype(np.uint16)
    sh = np.float32(5.0 / 127)
    keep: list = []
    ts = qtensor_struct(t, keep)
    hof = nm.f16_value(HO)
    ws = t.scale_f32()
    wo = t.outlier_f32()
    for row in range(T):
        c = np.zeros(a * d, np.float32)
        lib.ebq_dwconv_q8(ptr(c), ptr(H), ptr(HO), HO.shape[1], row, 1, d, a, float(sh), ts)
        ref = np.zeros(a * d, np.float32)
        for ch in range(a * d):
            acc_f = np.float32(0)
            for b in range(t.n_blocks):
                acc = 0
                for j in range(b * t.block, min((b + 1) * t.block, k)):
                    r = row + j - (k - 1)
                    if r >= 0:
                        acc += int(t.q[ch, j]) * int(H[r, ch // a])
                acc_f = np.float32(acc_f + np.float32(acc) * ws[ch, b])
            ref[ch] = np.float32(acc_f * sh) + t.bias[ch]
        for m, c0 in enumerate(idx):
            for e in range(a):
                v = np.float32(0)
                for j in range(k):
                    r = row + j - (k - 1)
                    if r >= 0:
                        v = np.float32(v + wo[m * a + e, j] * hof[r, m])
                ref[int(c0) * a + e] = v + t.bias[int(c0) * a + e]
        assert same_bits(c, ref), (row, np.abs(c - ref).max())


def test_round_half_away_from_zero():
    v = np.array([0.5, -0.5, 1.5, -1.5, 2.5, 126.5, -126.5, 127.4, 300, -300, math.nan],
                 np.float32)
    assert nm.sat_i8(v).tolist() == [1, -1, 2, -2, 3, 127, -127, 127, 127, -127, 0]
