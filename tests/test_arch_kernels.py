"""The Cortex-M kernels (runtime_c/src/arch/cortexm) against the ref kernels, the oracle.

Host: the same cortexm sources are compiled with the system cc, their ACLE intrinsics coming
from the plain-C shim in ebq_cm.h, and every kernel is compared with the ref build on random
shapes (tiles, odd tails, fallbacks): integers exactly, floats bit for bit. QEMU (Cortex-M4 and
M7): a model built with the cortexm kernels gives the same logits as the Python simulation.
No timing is asserted anywhere (make bench measures speed).
"""

from __future__ import annotations

import ctypes as C

import numpy as np
import pytest
from embbert.hostbuild import build_shared
from embbert.quant import numerics as nm
from embbert.quant.quantize import quantize_blocks, quantize_dwconv

from .test_kernels import _STRUCT, ptr, qtensor_struct

RNG = np.random.default_rng(20240611)
f, u32, i32, vp = C.c_float, C.c_uint32, C.c_int32, C.c_void_p
SIG = {
    "ebq_linear_q8": (None, [vp, vp, vp, vp, u32, vp]),
    "ebq_quantize_row": (None, [vp, vp, vp, vp, u32, vp, u32]),
    "ebq_rmsnorm_q8": (None, [vp, vp, vp, u32, f, f, vp, u32]),
    "ebq_attn_scores": (None, [vp, vp, vp, vp, u32, u32, vp, vp, u32, vp, u32, u32]),
    "ebq_softmax_q8": (i32, [vp, vp, vp, u32]),
    "ebq_attn_sum": (None, [vp, vp, vp, u32, vp, vp, u32, u32, u32, f, vp, u32]),
    "ebq_dwconv_q8": (None, [vp, vp, vp, u32, u32, u32, u32, u32, f, vp]),
    "ebq_silu_inplace": (None, [vp, u32]),
    "ebq_embed_row": (None, [vp, vp, vp, u32, u32, u32]),
}


@pytest.fixture(scope="module")
def libs(tmp_path_factory):
    out = {}
    for kernels in ("ref", "cortexm"):
        lib = C.CDLL(str(build_shared(tmp_path_factory.mktemp(kernels), kernels=kernels)))
        for name, (res, args) in SIG.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        out[kernels] = lib
    return out


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, np.float32).view(np.uint32)


def both(libs, name, make_out, *args):
    """Runs kernel `name` of ref and cortexm on fresh copies of the outputs; returns both."""
    res = {}
    for k, lib in libs.items():
        outs = make_out()
        r = getattr(lib, name)(*[ptr(o) for o in outs], *args)
        res[k] = (outs, r)
    return res["ref"], res["cortexm"]


# rows, cols, outliers, bias, n: 2 x 2 tiles, odd rows, 16/48/100-column blocks, cols % 4 != 0
# (fallback), cols > 256 (chunked widening), the classifier's 2 rows
LINEAR = [(128, 128, 0, True, 2), (128, 128, 3, True, 1), (7, 16, 0, True, 2),
          (33, 48, 2, True, 2), (5, 100, 0, False, 2), (6, 18, 1, True, 2),
          (10, 320, 2, True, 2), (2, 128, 1, True, 1), (128, 16, 0, False, 1)]


@pytest.mark.parametrize("rows,cols,n_out,bias,n", LINEAR)
def test_linear_matches_ref(libs, rows, cols, n_out, bias, n):
    w = RNG.normal(0, 0.2, (rows, cols))
    w[0, :] = 0.0                                            # zero scales
    idx = np.sort(RNG.choice(cols, n_out, replace=False)).astype(np.uint16)
    t = quantize_blocks(w, idx, RNG.normal(0, 0.1, rows) if bias else None)
    keep: list = []
    ts = qtensor_struct(t, keep)
    for trial in range(3):
        v = RNG.normal(0, 2, (n, cols)).astype(np.float32)
        xq, xs, xo = nm.quant_row(v, idx)
        if trial == 2:
            xq[:] = np.where(RNG.random(xq.shape) < 0.5, 127, -127)   # extreme products
        xq, xs = np.ascontiguousarray(xq), np.ascontiguousarray(xs, np.float32)
        xo = np.ascontiguousarray(xo, np.float32)
        (yr,), _ = (r := both(libs, "ebq_linear_q8", lambda: [np.zeros((n, rows), np.float32)],
                              ptr(xq), ptr(xs), ptr(xo), n, ts))[0]
        (yc,), _ = r[1]
        assert np.array_equal(bits(yr), bits(yc)), (trial, np.abs(yr - yc).max())
