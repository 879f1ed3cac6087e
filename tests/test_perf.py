"""The benchmark's inputs and the ESP32-S3 estimate (embbert.perf): the real-text rows run on
the emulated M4 bit-exact with the simulation, and the disassembly reader finds the int8 MAC
loops in real clang-22 (Xtensa) and arm-none-eabi-gcc objects. No speed is asserted here."""

import shutil

import numpy as np
import pytest
from embbert.perf.xtensa import KERNELS, _macs, dot_loop, inner_loops

from .test_arch_kernels import E2E_CFG


def test_mac_counting_skips_address_multiplies():
    """i * stride feeding a load address is not a MAC; a product of two loaded values is."""
    body = [("add", "a11, a9, a15"), ("mull", "a11, a11, a13"), ("add", "a11, a2, a11"),
            ("l8ui", "a11, a11, 0"), ("sext", "a11, a11, 7"), ("l8ui", "a5, a6, 0"),
            ("sext", "a5, a5, 7"), ("mull", "a11, a11, a5"), ("add", "a12, a11, a12"),
            ("addi", "a8, a8, -1"), ("bnez", "a8, 0x1b9")]
    assert _macs(body, "xtensa") == 1
    arm = [("ldrsb.w", "r7, [r3], #1"), ("ldrsb.w", "r0, [r2], #1"), ("cmp", "sl, r3"),
           ("mla", "r1, r7, r0, r1"), ("bne.n", "e4 <f+0xe4>")]
    assert _macs(arm, "arm") == 1
    assert _macs([("mul", "r1, r2, r3"), ("bne.n", "0 <f>")], "arm") == 0


def test_inner_loops_keep_only_the_innermost():
    code = [(0, "movi", "a2, 0"), (3, "addi", "a3, a3, 1"), (6, "mull", "a4, a4, a4"),
            (9, "bnez", "a3, 0x3"), (12, "addi", "a5, a5, 1"), (15, "bnez", "a5, 0x0")]
    loops = inner_loops(code, "xtensa")
    assert [(lp.start, lp.end, len(lp.code)) for lp in loops] == [(3, 9, 3)]


@pytest.mark.skipif(not (shutil.which("clang-22") and shutil.which("arm-none-eabi-gcc")),
                    reason="needs clang-22 and arm-none-eabi-gcc")
def test_dot_loops_in_real_objects(tmp_path):
    """Every MAC kernel's loop is found on both ISAs, one MAC per iteration (the ref C has no
    unrolling), with a plausible length: the M4 needs loads, the MAC and the loop branch."""
    from embbert.cbuild import build_program
    from embbert.perf.counts import KERNELS_FW
    from embbert.perf.xtensa import arm_objects, xtensa_objects
    xt = xtensa_objects(tmp_path / "xt")
    # the ref kernels compiled for the M4 with the bench build's flags
    out = tmp_path / "m4" / "kernels.elf"
    build_program("qemu-m4", out, [KERNELS_FW], kernels="ref", kernels_only=True)
    arm = arm_objects(out.parent / "kernels.elf.obj")
    for k in KERNELS:
        a, x = dot_loop(arm[k], "arm", k), dot_loop(xt[k], "xtensa", k)
        assert a.macs == 1 and x.macs == 1, (k, a.code, x.code)
        assert 3 <= len(a.code) <= 10 and 5 <= len(x.code) <= 20, (k, a.code, x.code)
        assert x.code[-1].startswith(("b", "loop")) or any(c.startswith("loop") for c in x.code)


@pytest.mark.qemu
def test_real_text_rows_run_bit_exact_on_qemu(tmp_path):
    """bench_fw.c built with a text header runs every row at every T on the emulated M4
    (cortexm kernels) and each row's logits equal the simulation's for [CLS] text[:T-2] [SEP]."""
    if not (shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc")):
        pytest.skip("needs qemu-system-arm and arm-none-eabi-gcc")
    from embbert.boards import load_board
    from embbert.export.exporter import export_quantized
    from embbert.model import EmbBertConfig
    from embbert.perf.counts import measure, write_text_header
    from embbert.quant import quantize, random_calibration
    from embbert.quant.testing import random_checkpoint
    cfg = EmbBertConfig(**E2E_CFG)
    mq = quantize(random_checkpoint(cfg, seed=4), random_calibration(cfg, 8, seed=4),
                  sha256="d4" * 32)
    gen = tmp_path / "gen"
    export_quantized(mq, load_board("qemu-m4"), gen, sha256="d4" * 32)
    rng = np.random.default_rng(4)
    texts = [[2, *rng.integers(5, cfg.vocab_size, cfg.max_len - 1).tolist()] for _ in range(3)]
    texts[2][2:] = [texts[2][1]] * (cfg.max_len - 2)      # and a repeated token
    h = write_text_header(texts, tmp_path / "bench_text.h")
    run = measure("qemu-m4", "cortexm", gen, tmp_path / "w", False, [3, 16, 48], text_h=h)
    assert not run.rows and sorted(run.texts) == [3, 16, 48]
    for T, rows in run.texts.items():
        assert len(rows) == 3
        for t, row in zip(texts, rows, strict=True):
            want = mq.logits(np.array(t[:T - 1] + [4]), np.ones(T, np.int64))
            assert row["logits"] == want.view(np.uint32).tolist(), T
            assert row["instr"] > 0


def test_real_text_ids_are_long_imdb_prefixes():
    from embbert.checkpoint import load
    from embbert.paths import REPO
    from embbert.perf.counts import real_text_ids
    from embbert.tokenizer import from_json
    ck = load(REPO / "models" / "sst2.pt")
    texts = real_text_ids(ck.tokenizer, 256, n=9)
    assert len(texts) == 9 and all(len(t) == 256 and t[0] == 2 for t in texts)
    assert len({tuple(t) for t in texts}) == 9
    words = from_json(ck.tokenizer).decode(texts[0][1:20])
    assert len(words.split()) >= 8      # text, not ids of nothing
