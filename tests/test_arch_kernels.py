"""The Cortex-M kernels (runtime_c/src/arch/cortexm) against the ref kernels, the oracle.

Host: the same cortexm sources are compiled with the system cc, their ACLE intrinsics coming
from the plain-C shim in ebq_cm.h, and every kernel is compared with the ref build on random
shapes (tiles, odd tails, fallbacks): integers exactly, floats bit for bit. QEMU (Cortex-M4 and
M7): a model built with the cortexm kernels gives the same logits as the Python simulation.
No timing is asserted anywhere (make bench measures speed).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from embbert.cbuild import RUNTIME, build_shared
from embbert.quant import numerics as nm
from embbert.quant.quantize import quantize_blocks, quantize_dwconv

from .test_kernels import attention_case, load_kernels, ptr, qtensor_struct

RNG = np.random.default_rng(20240611)


# optimized kernel sets under test: cortexm (host shim), vec portable, vec with the host's
# SIMD paths (-march=native: AVX-512 VNNI tiles where the CPU has them) and vec with AVX2 only
# (the x86-64 paths of CPUs without AVX-512)
OPT_SETS = {"cortexm": ("cortexm", ""), "vec": ("vec", ""), "vec-native": ("vec", "-march=native"),
            "vec-avx2": ("vec", "-march=x86-64-v3")}


@pytest.fixture(scope="module", params=list(OPT_SETS))
def libs(request, tmp_path_factory):
    """{"ref": the oracle, "opt": the optimized set under test}"""
    out = {}
    for key, (kernels, cflags) in (("ref", ("ref", "")), ("opt", OPT_SETS[request.param])):
        out[key] = load_kernels(build_shared(tmp_path_factory.mktemp(kernels),
                                             kernels=kernels, cflags=cflags))
    return out


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, np.float32).view(np.uint32)


def same_bits(ref, opt) -> bool:
    """Outputs of both() equal bit for bit (float arrays compared as their uint32 bits)."""
    return all(np.array_equal(bits(a) if a.dtype == np.float32 else a,
                              bits(b) if b.dtype == np.float32 else b)
               for a, b in zip(ref[0], opt[0], strict=True))


def both(libs, name, make_out, *args):
    """Runs kernel `name` of ref and the optimized set on fresh copies of the outputs."""
    res = {}
    for k, lib in libs.items():
        outs = make_out()
        r = getattr(lib, name)(*[ptr(o) for o in outs], *args)
        res[k] = (outs, r)
    return res["ref"], res["opt"]


# rows, cols, outliers, bias, n: 2 x 2 tiles, odd rows, 16/48/100-column blocks, cols % 4 != 0
# (fallback), cols > 256 (chunked widening), the classifier's 2 rows; whole rows of 32-column
# blocks for two tokens (the fused path: 1, 3, 4, 8 blocks, with and without outliers); four
# tokens (one row x four tokens; rows too wide for it and n = 3 take the pair paths); two rows
# x four tokens at 128 columns (any outlier count, 5 and 8 tokens; no bias and odd rows fall back)
LINEAR = [(128, 128, 0, True, 2), (128, 128, 3, True, 1), (7, 16, 0, True, 2),
          (33, 48, 2, True, 2), (5, 100, 0, False, 2), (6, 18, 1, True, 2),
          (10, 320, 2, True, 2), (2, 128, 1, True, 1), (128, 16, 0, False, 1),
          (128, 128, 4, True, 2), (6, 96, 1, False, 2), (4, 256, 0, True, 2),
          (2, 32, 2, True, 2), (20, 64, 2, True, 2), (48, 64, 40, False, 1),
          (128, 128, 0, True, 4), (128, 128, 4, True, 4), (7, 64, 3, False, 4),
          (10, 96, 1, True, 3), (6, 256, 0, True, 4), (9, 16, 0, True, 4),
          (6, 128, 3, True, 4), (2, 128, 4, True, 5), (128, 128, 4, False, 4),
          (4, 128, 0, True, 8), (7, 128, 4, True, 4)]


def test_avx2_set_is_built_without_avx512(tmp_path):
    """vec-avx2 is the AVX2-only path: no zmm register anywhere, the AVX2 tiles linked in."""
    import subprocess

    from embbert.perf.host import has_avx512
    so = build_shared(tmp_path, kernels="vec", cflags=OPT_SETS["vec-avx2"][1])
    dis = subprocess.run(["objdump", "-d", str(so)], capture_output=True, text=True,
                         check=True).stdout
    assert not has_avx512(so) and "%ymm" in dis
    for tiles in ("linear_tiles8", "dwconv_tiles8", "attn_sum_tiles8"):
        assert f"<ebq_vec_{tiles}>:" in dis


@pytest.mark.parametrize("rows,cols,n_out,bias,n", LINEAR)
def test_linear_matches_ref(libs, rows, cols, n_out, bias, n):
    w = RNG.normal(0, 0.2, (rows, cols))
    w[0, :] = 0.0                                            # zero scales
    idx = np.sort(RNG.choice(cols, n_out, replace=False)).astype(np.uint16)
    t = quantize_blocks(w, idx, RNG.normal(0, 0.1, rows) if bias else None)
    t.q[-1, ::3] = -128        # the whole int8 range, though the exporter never writes -128
    keep: list = []
    ts = qtensor_struct(t, keep)
    for trial in range(4):
        v = RNG.normal(0, 2, (n, cols)).astype(np.float32)
        xq, xs, xo = nm.quant_row(v, idx)
        if trial >= 2:   # extreme products; then an activation -128 (the AVX2 tiles refuse it)
            xq[:] = np.where(RNG.random(xq.shape) < 0.5, 127, -127 - (trial == 3))
        xq, xs = np.ascontiguousarray(xq), np.ascontiguousarray(xs, np.float32)
        xo = np.ascontiguousarray(xo, np.float32)
        (yr,), _ = (r := both(libs, "ebq_linear_q8", lambda: [np.zeros((n, rows), np.float32)],
                              ptr(xq), ptr(xs), ptr(xo), n, ts))[0]
        (yc,), _ = r[1]
        assert np.array_equal(bits(yr), bits(yc)), (trial, np.abs(yr - yc).max())


# the residual sum fused into the tiles: groups of four tokens, the rest, other shapes
LINEAR_ACC = [(128, 128, 4, True, 4), (128, 128, 0, True, 8), (6, 128, 4, True, 5),
              (7, 128, 2, True, 6), (4, 64, 0, True, 4), (128, 128, 4, False, 4),
              (128, 128, 4, True, 3)]


@pytest.mark.parametrize("rows,cols,n_out,bias,n", LINEAR_ACC)
def test_linear_acc_matches_ref(libs, rows, cols, n_out, bias, n):
    w = RNG.normal(0, 0.2, (rows, cols))
    idx = np.sort(RNG.choice(cols, n_out, replace=False)).astype(np.uint16)
    t = quantize_blocks(w, idx, RNG.normal(0, 0.1, rows) if bias else None)
    keep: list = []
    ts = qtensor_struct(t, keep)
    xq, xs, xo = nm.quant_row(RNG.normal(0, 2, (n, cols)).astype(np.float32), idx)
    xq, xs = np.ascontiguousarray(xq), np.ascontiguousarray(xs, np.float32)
    xo = np.ascontiguousarray(xo, np.float32)
    y0 = RNG.normal(0, 3, (n, rows)).astype(np.float32)
    ref, opt = both(libs, "ebq_linear_q8_acc",
                    lambda: [y0.copy(), np.zeros((n, rows), np.float32)],
                    ptr(xq), ptr(xs), ptr(xo), n, ts)
    assert np.array_equal(bits(ref[0][0]), bits(opt[0][0]))
    assert not np.array_equal(bits(ref[0][0]), bits(y0))


# T, d, outliers, masked keys, n: odd T, odd/unaligned widths (fallback), d > 256, T = 1,
# the longest listed T (256, odd 255) and beyond (T > 256: no list); four query rows (the
# default width d = 128 only; n = 3 and other widths take the two-row path)
ATTN = [(128, 128, 0, 0, 2), (37, 128, 3, 5, 2), (9, 32, 2, 3, 1), (5, 18, 1, 5, 2),
        (64, 320, 1, 0, 2), (1, 64, 0, 0, 2), (2, 16, 0, 1, 1), (33, 96, 4, 0, 2),
        (255, 128, 0, 0, 2), (256, 128, 1, 7, 2), (301, 32, 0, 0, 2),
        (128, 128, 0, 0, 4), (37, 128, 2, 5, 4), (255, 128, 0, 3, 4), (256, 128, 1, 0, 4),
        (1, 128, 0, 0, 4), (64, 128, 0, 0, 3), (300, 128, 0, 0, 4), (16, 64, 0, 0, 4)]


@pytest.mark.parametrize("T,d,n_o,masked,n", ATTN)
def test_attention_matches_ref(libs, T, d, n_o, masked, n):
    H, HO, idx, segs = attention_case(T, d, n_o, masked)
    stride = HO.shape[1]
    q = RNG.integers(-127, 128, (n, d)).astype(np.int8)
    qs = (RNG.random(n) * 0.05).astype(np.float32)
    qo = RNG.normal(0, 2, (n, max(n_o, 1))).astype(np.float32)[:, :n_o].copy()
    args = (ptr(q), ptr(qs), ptr(qo), n_o, n, ptr(H), ptr(HO), stride, ptr(segs), T, d)
    (sr,), _ = (r := both(libs, "ebq_attn_scores", lambda: [np.zeros((n, T), np.float32)],
                          *args))[0]
    (sc,), _ = r[1]
    valid = segs != 0
    assert np.array_equal(bits(sr[:, valid]), bits(sc[:, valid]))

    s = sr.copy()
    s[0, :3] = [np.nan, -np.inf, 40.0] if T >= 3 else s[0, :3]      # odd values
    for i in range(n):
        (er,), zr = (r := both(libs, "ebq_softmax_q8", lambda T=T: [np.zeros(T, np.int16)],
                               ptr(np.ascontiguousarray(s[i])), ptr(segs), T))[0]
        (ec,), zc = r[1]
        assert np.array_equal(er, ec) and zr == zc

    e = np.zeros((n, T), np.int16)
    Z = np.zeros(n, np.int32)
    for i in range(n):
        Z[i] = libs["ref"].ebq_softmax_q8(ptr(e[i]), ptr(np.ascontiguousarray(sr[i])),
                                          ptr(segs), T)
    sh = np.float32(3.9 / 127)
    for density in (1.0, 0.1, 0.02):  # other rows dense, then sparse (listed key pairs)
        for k in range(1, n):
            e[k] = RNG.integers(0, 128, T) * (RNG.random(T) < density)
            e[k, ~valid] = 0
            Z[k] = int(e[k].sum())
        (ar,), _ = (r := both(libs, "ebq_attn_sum", lambda: [np.zeros((n, d), np.float32)],
                              ptr(e), ptr(Z), n, ptr(H), ptr(HO), stride, T, d, float(sh),
                              ptr(idx), n_o))[0]
        (ac,), _ = r[1]
        assert np.array_equal(bits(ar), bits(ac))


# d, a, k, outliers, T: every t from 0 (the causal start: taps before row 0) with 2, 3 and 4
# rows per call (the four-row path of the default shape), k % 4 != 0, k < 4, several blocks
# of taps and a > 1 (reference loops), the default shape at short and odd T
@pytest.mark.parametrize("d,a,k,n_o,T", [(128, 1, 32, 0, 80), (16, 1, 4, 1, 12),
                                          (8, 2, 5, 1, 9), (32, 1, 40, 2, 50),
                                          (18, 1, 8, 0, 20), (16, 3, 32, 1, 3),
                                          (16, 1, 7, 0, 12), (4, 1, 3, 1, 6),
                                          (128, 1, 32, 2, 36), (10, 1, 30, 0, 34),
                                          (128, 1, 32, 0, 1), (128, 1, 32, 1, 2),
                                          (128, 1, 32, 0, 3), (128, 1, 32, 0, 31),
                                          (128, 1, 32, 1, 33), (128, 1, 32, 0, 256)])
def test_dwconv_matches_ref(libs, d, a, k, n_o, T):
    idx = np.sort(RNG.choice(d, n_o, replace=False)).astype(np.uint16)
    t = quantize_dwconv(RNG.normal(0, 0.3, (a * d, k)), RNG.normal(0, 0.1, a * d), idx, a)
    H = RNG.integers(-127, 128, (T, d)).astype(np.int8)
    H[:, idx] = 0
    HO = nm.f16_bits(RNG.normal(0, 8, (T, max(n_o, 1)))).astype(np.uint16)
    keep: list = []
    ts = qtensor_struct(t, keep)
    for t0 in range(0, T):
        for n in sorted({min(n, T - t0) for n in (1, 2, 3, 4)}):
            (cr,), _ = (r := both(libs, "ebq_dwconv_q8",
                                  lambda n=n: [np.zeros((n, a * d), np.float32)],
                                  ptr(H), ptr(HO), HO.shape[1], t0, n, d, a, float(5.0 / 127),
                                  ts))[0]
            (cc,), _ = r[1]
            assert np.array_equal(bits(cr), bits(cc)), (t0, n)


def test_softmax_odd_scores_match_ref(libs):
    """Infinite scores, ties, signed zeros, padded keys and tails of every length."""
    for T in (1, 7, 8, 13, 64):
        rows = [RNG.normal(0, 3, T), np.zeros(T), np.full(T, -0.0), np.full(T, -np.inf),
                np.where(RNG.random(T) < 0.5, 0.0, -0.0), RNG.normal(0, 3, T)]
        rows[-1][T // 2] = np.inf
        for s in rows:
            s = s.astype(np.float32)
            for segs in (np.ones(T, np.uint8), (RNG.random(T) < 0.6).astype(np.uint8)):
                (er,), zr = (r := both(libs, "ebq_softmax_q8", lambda T=T: [np.zeros(T, np.int16)],
                                       ptr(s), ptr(segs), T))[0]
                (ec,), zc = r[1]
                assert np.array_equal(er, ec) and zr == zc, (T, s, segs)


E127_TAB = RUNTIME / "src" / "arch" / "cortexm" / "ebq_e127_tab.h"


def e127_drops() -> np.ndarray:
    """The bits u of -x where the cortexm softmax table says e(x) drops (ebq_e127_tab.h)."""
    text = E127_TAB.read_text()
    shift, b0 = (int(re.search(rf"#define EBQ_E127_{k} (\w+)u", text)[1], 0)
                 for k in ("SHIFT", "B0"))
    body = text[text.index("{"):text.index("}")]
    entries = [int(h, 16) for h in re.findall(r"0x([0-9a-f]+)u", body)]
    low = [(e & 0xFFFFFF) + 1 for e in entries]  # entry = (e << 24) + drop - 1
    return np.array([((b0 + i) << shift) + d for i, d in enumerate(low) if d < 1 << shift],
                    np.uint32)


def test_softmax_table_is_what_its_generator_writes(tmp_path):
    """ebq_e127_tab.h is the output of ebq_gen_e127.c, which checks every float x in
    [-5.6, 0] against the ref's ebq_exp (exits non-zero if the step function has a rise, a step
    of 2 or two steps in one bucket)."""
    from embbert.cbuild import build_host_tool
    exe = build_host_tool(tmp_path / "gen", [RUNTIME / "tools" / "ebq_gen_e127.c",
                                             RUNTIME / "src" / "ref" / "ebq_exp.c"],
                          runtime=False)
    r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout == E127_TAB.read_text()


def test_softmax_numerators_at_every_table_step(libs):
    """Scores one float either side of each of the 127 steps of sat_i8(127 exp(x)), the
    cut at -5.6, tiny and signed-zero differences, in rows of odd lengths (kernel vs ref)."""
    u = e127_drops()
    assert len(u) == 127
    x = np.concatenate([u - 1, u, u + 1, [0x40B33333, 0x40B33334, 0, 1, 0x3B000000]])
    x = -x.astype(np.uint32).view(np.float32)
    for T in (len(x), 31, 33, 3):
        for shift in (0.0, 2.5):  # max 0 (x exact) and max 2.5 (x rounded by s - max)
            s = np.r_[np.float32(shift), (x[:T - 1] + np.float32(shift))].astype(np.float32)
            n = len(s)
            segs = np.ones(n, np.uint8)
            (er,), zr = (r := both(libs, "ebq_softmax_q8", lambda n=n: [np.zeros(n, np.int16)],
                                   ptr(s), ptr(segs), n))[0]
            (ec,), zc = r[1]
            assert np.array_equal(er, ec) and zr == zc, (T, shift)


def test_rowwise_kernels_match_ref(libs):
    """quantize_row, rmsnorm, silu: elementwise, on ordinary and edge-case values."""
    for n, n_out in [(128, 0), (128, 4), (48, 1), (17, 2)]:
        idx = np.sort(RNG.choice(n, n_out, replace=False)).astype(np.uint16)
        edge = RNG.normal(0, 3, n)
        edge[[1, 3, 5, 9]] = [np.nan, np.inf, -np.inf, -3e38]
        big = RNG.normal(0, 3, n)
        big[[0, 2]] = [4e3, -4e3]                                 # hn past +-127: the clamp
        for v in [RNG.normal(0, 3, n), np.zeros(n), np.full(n, 1e-35), RNG.normal(0, 30, n),
                  edge, big, -np.abs(RNG.normal(0, 3, n)), np.full(n, -0.0)]:
            v = v.astype(np.float32)
            out = lambda n=n, n_out=n_out: [np.zeros(n, np.int8),  # noqa: E731
                                            np.zeros(1, np.float32),
                                            np.zeros(max(n_out, 1), np.float32)]
            assert same_bits(*both(libs, "ebq_quantize_row", out, ptr(v), n, ptr(idx), n_out))
            ref, cm = both(libs, "ebq_rmsnorm_q8",
                           lambda n=n, n_out=n_out: [np.zeros(n, np.int8),
                                                     np.zeros(max(n_out, 1), np.uint16)],
                           ptr(v), n, float(np.float32(1.1920929e-07)), float(127 / 4.0),
                           ptr(idx), n_out)
            assert all(np.array_equal(a, b) for a, b in zip(ref[0], cm[0], strict=True))
    # row quantization: outliers at the row's edges, odd lengths (4-value groups with tails),
    # NaN / infinity only in an outlier channel, ties at +-0.5 steps, every value equal
    for n in [1, 5, 8, 9, 31, 130]:
        for idx in [np.array([], np.uint16), np.array([0, n - 1], np.uint16)[: min(n, 2)]]:
            idx = np.unique(idx).astype(np.uint16)
            cases = [RNG.normal(0, 3, n), np.full(n, 2.0), np.arange(n) * 0.5 - n / 4]
            odd = RNG.normal(0, 3, n)
            odd[idx] = np.nan
            cases.append(odd)
            inf = RNG.normal(0, 3, n)
            inf[-1] = np.inf
            cases.append(inf)
            k = len(idx)
            for v in cases:
                v = np.ascontiguousarray(v, np.float32)
                out = lambda n=n, k=k: [np.zeros(n, np.int8),  # noqa: E731
                                        np.zeros(1, np.float32),
                                        np.zeros(max(k, 1), np.float32)]
                assert same_bits(*both(libs, "ebq_quantize_row", out, ptr(v), n, ptr(idx), k))
    x = np.concatenate([RNG.normal(0, 6, 3000), [-100, -88, -20, 0, 16.5, 17, 20, 100,
                                                 np.inf, -np.inf]]).astype(np.float32)
    assert silu_same(libs, x)


def silu_same(libs, x: np.ndarray) -> bool:
    """SiLU in place on copies of x by ref and the optimized set: the same bits."""
    res = []
    for lib in libs.values():
        v = x.copy()
        lib.ebq_silu_inplace(ptr(v), len(v))
        res.append(v)
    return bool(np.array_equal(bits(res[0]), bits(res[1])))


def test_silu_fast_range_matches_ref(libs):
    """SiLU on 2^20 floats spread over |v| <= 17.5 by their bits (the fast path's range and its
    edge at 17, subnormals, +-0), both signs, bit for bit."""
    u = np.linspace(0, 0x418C0000, 1 << 19, dtype=np.uint64).astype(np.uint32)
    assert silu_same(libs, np.concatenate([u, u | np.uint32(0x80000000)]).view(np.float32))


# ------------------------------------------------------------------------------ end to end

E2E_CFG = dict(vocab_size=400, max_len=48, d_model=128, reduced_dim=16, n_layers=2,
               conv_kernel=32, expansion=1, num_labels=3)


@pytest.fixture(scope="module")
def e2e_model(tmp_path_factory):
    """Default widths (d 128, k 32, rd 16) with two outlier channels, exported twice."""
    from embbert.boards import load_board
    from embbert.export.exporter import export_quantized
    from embbert.model import EmbBertConfig
    from embbert.quant import quantize, random_calibration
    from embbert.quant.testing import random_checkpoint

    cfg = EmbBertConfig(**E2E_CFG)
    ck = random_checkpoint(cfg, seed=3, outlier_channels=(5, 77))
    mq = quantize(ck, random_calibration(cfg, 16, seed=3), sha256="c3" * 32)
    tmp = tmp_path_factory.mktemp("e2e")
    gens = {}
    for board in ("host", "qemu-m4"):
        export_quantized(mq, load_board(board), tmp / board, sha256="c3" * 32)
        gens[board] = tmp / board
    seqs = random_calibration(cfg, 6, seed=9, min_len=1)
    seqs += [(np.arange(cfg.max_len) % 300 + 5, np.ones(cfg.max_len, int)),
             (np.array([2, 4]), np.array([1, 1])), (np.array([2]), np.array([1]))]
    # padded keys (segment 0: the masked softmax loop, zero rows in softmax @ V) and one token
    # repeated (near-uniform attention: the dense walk of softmax @ V), four-row groups
    pad = np.ones(cfg.max_len, int)
    pad[34:] = 0
    seqs += [(np.arange(cfg.max_len) % 50 + 5, pad),
             (np.r_[2, np.full(cfg.max_len - 2, 77), 4], np.ones(cfg.max_len, int))]
    return mq, gens, seqs, tmp


@pytest.mark.parametrize("opt", list(OPT_SETS))
def test_host_model_with_optimized_kernels_is_bit_exact(e2e_model, opt):
    """The whole model through the cortexm (or vec) sources on the host, under ASan + UBSan."""
    from embbert.cbuild import build_run, run_model
    mq, gens, seqs, tmp = e2e_model
    kernels, cflags = OPT_SETS[opt]
    exe = build_run(gens["host"], tmp / f"host-{opt}", sanitize=True, kernels=kernels,
                    cflags=cflags)
    rc, outs, err = run_model(exe, seqs)
    assert rc == 0 and err == "", err
    c = np.array(outs, np.float32)
    assert np.array_equal(bits(c), bits(mq.logits_batch(seqs)))


def test_kernels_come_from_the_board_with_an_override():
    """cbuild compiles the board TOML's kernel set; ref (the oracle) is one argument away."""
    from embbert.cbuild import RUNTIME, board_kernels, runtime_sources
    assert board_kernels("qemu-m4") == "cortexm" and board_kernels("host") == "vec"
    assert board_kernels("qemu-m4", "ref") == "ref"
    names = {p.parent.name for p in runtime_sources(RUNTIME, board_kernels("qemu-m4", "ref"))}
    assert "cortexm" not in names and "ref" in names


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m7"])
def test_qemu_cortexm_logits_equal_simulation(e2e_model, board):
    """The real firmware (cortexm kernels, arm-none-eabi-gcc) on the emulated M4 / M7, over the
    serial protocol: logits identical to the Python simulation (and so to the ref build)."""
    import shutil

    from embbert.cbuild import build_firmware
    from embbert.device.qemu import QemuBoard
    from embbert.device.session import Device
    if not (shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc")):
        pytest.skip("needs qemu-system-arm and arm-none-eabi-gcc")
    mq, gens, seqs, tmp = e2e_model
    elf = build_firmware(board, tmp / board / "fw.elf", generated_dir=gens["qemu-m4"])
    want = mq.logits_batch(seqs)
    with QemuBoard(board, elf, timeout=10.0) as q:
        dev = Device(q.transport, timeout=10.0, infer_timeout=60.0)
        dev.sync()
        for (ids, segs), ref in zip(seqs, want, strict=True):
            got = np.array(dev.infer(ids.tolist(), segs.tolist()).logits, np.float32)
            assert np.array_equal(bits(got), bits(ref)), (len(ids), got, ref)


# the QEMU checks of the assembly paths: firmware, lines it prints
CHECK_FW = {"dense": ("kernels_check_fw.c", 18 * 2 + 18 * 5),
            "attention_conv": ("attn_check_fw.c", 7 * (4 * 4 + 1))}


@pytest.mark.qemu
@pytest.mark.parametrize("check", list(CHECK_FW))
@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m7"])
def test_qemu_kernels_match_ref(board, check, tmp_path):
    """tests/c/<check firmware> built with the ref and with the cortexm kernels and run on the
    emulated board: the same output bytes in every case. This is where the assembly paths (the
    host tests run their C twins) meet the ref: dense = linear, linear + residual, row
    quantization, RMSNorm at the default width and odd shapes; attention_conv = scores,
    softmax, softmax @ V, conv + SiLU at T = 1 .. 256 and 1 .. 4 rows."""
    import shutil

    from embbert.cbuild import build_program
    from embbert.perf.counts import run_bench_elf
    if not (shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc")):
        pytest.skip("needs qemu-system-arm and arm-none-eabi-gcc")
    fw, n_lines = CHECK_FW[check]
    out = {}
    for kernels in ("ref", "cortexm"):
        elf = build_program(board, tmp_path / kernels / "check.elf",
                            [Path(__file__).parent / "c" / fw], kernels=kernels,
                            kernels_only=True)
        out[kernels] = [ln for ln in run_bench_elf(board, elf, timeout=600.0) if ln != "END"]
    assert len(out["ref"]) == n_lines
    for want, got in zip(out["ref"], out["cortexm"], strict=True):
        assert want == got
