"""perf.host, the host part of `make bench`: the two C builds it times (this CPU's, with the
AVX-512 VNNI tiles where it has them, and the AVX2-only one, compiled without AVX-512) are the
real runtime, run, and give logits identical to the Python simulation; the interleaved run
returns per-round ratios for both builds and the report renders them. No timing is asserted."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from embbert.perf import host
from embbert.perf.counts import bench_ids

CFG = dict(vocab_size=400, max_len=48, d_model=128, reduced_dim=16, n_layers=2,
           conv_kernel=32, expansion=1, num_labels=3)
LENGTHS = [1, 5, 8, 16, 33, 48]


def cpu_flags() -> set[str]:
    for ln in Path("/proc/cpuinfo").read_text().splitlines():
        if ln.startswith("flags"):
            return set(ln.split(":", 1)[1].split())
    return set()


FLAGS = cpu_flags() if Path("/proc/cpuinfo").exists() else set()
needs_avx2 = pytest.mark.skipif(not {"avx2", "f16c", "fma", "bmi2"} <= FLAGS,
                                reason="the AVX2-only build needs an x86-64-v3 CPU")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """Default widths (d 128, k 32, rd 16: every tile's shape) with two outlier channels,
    exported for the host board; the simulation's logit bits at each T of LENGTHS."""
    from embbert.boards import load_board
    from embbert.export.exporter import export_quantized
    from embbert.model import EmbBertConfig
    from embbert.quant import quantize, random_calibration
    from embbert.quant.testing import random_checkpoint

    cfg = EmbBertConfig(**CFG)
    ck = random_checkpoint(cfg, seed=5, outlier_channels=(5, 77))
    mq = quantize(ck, random_calibration(cfg, 16, seed=5), sha256="c5" * 32)
    gen = tmp_path_factory.mktemp("perf-host") / "gen"
    export_quantized(mq, load_board("host"), gen, sha256="c5" * 32)
    want = {T: mq.logits(*bench_ids(cfg.vocab_size, T)).view(np.uint32).tolist()
            for T in LENGTHS}
    return ck, gen, want


def disassembly(exe: Path) -> str:
    return subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(exe)],
                          capture_output=True, text=True, check=True).stdout


@needs_avx2
@pytest.mark.parametrize("name", list(host.C_BUILDS))
def test_c_builds_are_bit_exact_and_use_their_tiles(model, tmp_path, name):
    """Each build runs its own kernel path: the AVX2-only build has no AVX-512 instruction and
    runs the AVX2 tiles; the native one, on an AVX-512 VNNI CPU, the AVX-512 tiles."""
    _, gen, want = model
    exe = host.build_c(gen, tmp_path, host.C_BUILDS[name][1])
    dis = disassembly(exe)
    if name == "c_avx2":
        assert not host.has_avx512(exe)
        assert "<ebq_vec_linear_tiles8>:" in dis and "vpmaddubsw" in dis
    elif {"avx512f", "avx512bw", "avx512_vnni"} <= FLAGS:
        assert "<ebq_vec_linear_tiles>:" in dis and "vpdpbusd" in dis
    bench = host.CBench(exe)
    try:
        for T in LENGTHS:
            wall, cpu, bits, _ = bench.batch(T, 2)
            assert bits == want[T], T
            assert len(wall) == len(cpu) == 2 and min(cpu) > 0
    finally:
        bench.close()


@needs_avx2
def test_interleaved_run_reports_ratios_for_both_builds(model, tmp_path, monkeypatch):
    """Two short rounds at two lengths: every engine measured in every round, a ratio with its
    spread for each (engine, C build), and the report's table names both builds."""
    from embbert.perf.report import _table
    from embbert.perf.report_host import host_section
    ck, gen, want = model
    monkeypatch.setattr(host, "BATCH_S", 0.002)
    h = host.host_bench(ck, want, gen, tmp_path, [8, 16], rounds=2, echo=lambda _: None)
    others = [k for k in h["ns"] if k not in host.C_BUILDS]
    assert "pytorch" in others
    assert set(h["ratios"]) == {f"{o}/{c}" for c in host.C_BUILDS for o in others}
    for r in h["ratios"].values():
        for T in (8, 16):
            assert r[T]["min"] <= r[T]["p10"] <= r[T]["median"] <= r[T]["p90"] <= r[T]["max"]
    assert all(n >= 2 * 3 for by_t in h["runs"].values() for n in by_t.values())
    md = "\n".join(host_section({"lengths": [8, 16], "host": h | {
        "cpu": "test CPU", "kernels": "vec"}}, _table))
    for build in host.C_BUILDS.values():
        assert f"C {build[0]}" in md and build[1] in md
    if "ort_fp32" in h["ns"]:
        assert "ORT fp32 / C AVX2 only" in md
