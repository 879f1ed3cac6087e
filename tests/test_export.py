"""embbert-export: generated files, report, boards, determinism and one-line errors."""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest
import torch
from embbert import __version__
from embbert.boards import known_boards, load_board
from embbert.cbuild import build_layout
from embbert.checkpoint import file_sha256
from embbert.errors import EmbBertError
from embbert.export.exporter import export
from embbert.export.layout import STRUCTS, struct_layout
from embbert.model import EmbBertConfig
from embbert.quant.testing import limit_threads, save_random_checkpoint

from .conftest import run_cli

limit_threads()

CFG = EmbBertConfig(vocab_size=300, max_len=24, d_model=32, reduced_dim=8, n_layers=2,
                    conv_kernel=4, expansion=1, num_labels=2)
REPORT_KEYS = {"board", "format_version", "model_sha256", "weights_bytes", "flash_bytes",
               "arena_bytes", "arena_bytes_by_seq_len", "fits", "tensors", "checkpoint",
               "quantization", "tokenizer"}


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return save_random_checkpoint(CFG, tmp_path_factory.mktemp("ck") / "model.pt", seed=1,
                                  outlier_channels=(3,))


def _leftovers(parent):
    return [p.name for p in parent.rglob("*") if ".tmp-" in p.name or ".old-" in p.name]


def test_cli_export_writes_files_and_report(ckpt, tmp_path):
    out = tmp_path / "gen"
    p = run_cli("embbert-export", ckpt, "--board", "qemu-m4", "--out", out)
    assert "fits qemu-m4: yes" in p.stdout and "next: pio run -e qemu_m4" in p.stdout
    names = ["export_report.json", "model_data.c", "model_data.h", "platformio_board.ini",
             "quantized_model.npz"]
    assert sorted(x.name for x in out.iterdir() if not x.name.startswith(".")) == names
    assert json.loads((out / ".embbert-export.json").read_text())["files"] == names
    rep = json.loads((out / "export_report.json").read_text())
    assert set(rep) == REPORT_KEYS
    assert rep["board"] == "qemu-m4" and rep["fits"] is True and rep["format_version"] == 1
    assert rep["model_sha256"] == file_sha256(ckpt)
    assert rep["checkpoint"] == str(ckpt.resolve())
    assert set(rep["arena_bytes_by_seq_len"]) == {"24"}          # max_len 24 < 64
    assert all(set(t) == {"name", "bytes", "section"} for t in rep["tensors"])
    h = (out / "model_data.h").read_text()
    c = (out / "model_data.c").read_text()
    for text in (h, c):
        assert f"embbert-export {__version__}" in text.splitlines()[0]
        assert file_sha256(ckpt) in text
    for macro in ("EBQ_ARENA_BYTES", "EBQ_BOARD_NAME", "EBQ_CLOCK_HZ", "EBQ_MAX_LEN",
                  "EBQ_NUM_LABELS", "EBQ_MODEL_FORMAT_VERSION", "EBQ_MODEL_QUANT_VERSION"):
        assert f"#define {macro} " in h
    assert "extern const ebq_model ebq_model_data;" in h
    assert f"#define EBQ_ARENA_BYTES {rep['arena_bytes']}u" in h
    # floats only as hex floats (no decimal float literals)
    bias = c[c.index("l0_q_bias"):]
    bias = bias[:bias.index("};")]
    assert re.search(r"0x1\.[0-9a-f]+p[-+]\d+f", bias)
    assert not re.search(r"\d\.\d+f?(,|\n)", bias.split("=", 1)[1].replace("0x", "X"))


def test_export_is_deterministic(ckpt, tmp_path):
    b = load_board("host")
    export(ckpt, b, tmp_path / "a")
    export(ckpt, b, tmp_path / "b")
    for name in ("model_data.h", "model_data.c", "export_report.json", "quantized_model.npz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    export(ckpt, b, tmp_path / "a")                  # overwrite in place: same bytes, no debris
    assert (tmp_path / "a" / "model_data.c").read_bytes() == \
        (tmp_path / "b" / "model_data.c").read_bytes()
    assert _leftovers(tmp_path) == []


def test_quantized_model_file_is_the_exported_model(ckpt, tmp_path):
    """quantized_model.npz reloads into the same QuantModel: same arrays, bit-identical logits."""
    from embbert.quant import random_calibration, store

    _, mq = export(ckpt, load_board("host"), tmp_path / "g", max_len=16)
    back = store.load(tmp_path / "g" / store.FILE_NAME)
    assert back.config == mq.config and back.meta == json.loads(json.dumps(mq.meta))
    assert back.meta["sha256"] == file_sha256(ckpt)
    for name in ("tok_q", "tok_s", "pos_q", "pos_s", "seg", "x_outliers"):
        a, b = getattr(mq, name), getattr(back, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    seqs = random_calibration(CFG, 8, seed=3, max_len=16)
    assert mq.logits_batch(seqs).tobytes() == back.logits_batch(seqs).tobytes()


def test_quantized_model_file_errors_are_one_line(ckpt, tmp_path):
    from embbert.quant import store

    bad = tmp_path / "quantized_model.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(EmbBertError, match="not a readable quantized model"):
        store.load(bad)
    np.savez(bad, store_version=np.array(99))
    with pytest.raises(EmbBertError, match="version 99"):
        store.load(bad)


def test_format_constants_mirror_the_c_header():
    from embbert.cbuild import RUNTIME
    from embbert.export import format as F

    header = (RUNTIME / "include/embbert/model_format.h").read_text()
    defines = dict(re.findall(r"#define (EBQ_\w+) (0x[0-9a-fA-F]+|\d+)u", header))
    want = {"EBQ_MAGIC": F.MAGIC, "EBQ_FORMAT_VERSION": F.FORMAT_VERSION,
            "EBQ_QUANT_VERSION": F.QUANT_VERSION, "EBQ_BLOCK": F.BLOCK,
            "EBQ_ARENA_ALIGN": F.ALIGN}
    assert {k: int(defines[k], 0) for k in want} == want


def test_boards():
    names = known_boards()
    for want in ("host", "qemu-m4", "qemu-m7", "esp32s3", "nucleo-f446re", "nucleo-h743zi"):
        assert want in names
        b = load_board(want)
        assert b.arena_capacity() > 0 and b.flash_capacity() > 0
    assert load_board("esp32s3").clock_hz == 240_000_000
    assert load_board("esp32s3").sram_bytes == 512 * 1024
    f4 = load_board("nucleo-f446re")
    assert (f4.clock_hz, f4.flash_bytes, f4.sram_bytes) == (180_000_000, 512 * 1024, 128 * 1024)
    h7 = load_board("nucleo-h743zi")
    assert (h7.clock_hz, h7.flash_bytes, h7.cpu) == (480_000_000, 2 * 1024 * 1024, "cortex-m7")
    with pytest.raises(EmbBertError, match="known boards: .*qemu-m4"):
        load_board("arduino-uno")


def run_inproc(capsys, *args):
    """The CLI in this process (no interpreter + torch start-up per call)."""
    from types import SimpleNamespace

    from embbert.cli.export import main
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return SimpleNamespace(returncode=e.value.code, stdout=out.out, stderr=out.err)


def _one_line_error(p, *needles):
    assert p.returncode != 0
    err = p.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), p.stderr
    for n in needles:
        assert n in err[0], err[0]
    assert "Traceback" not in p.stderr


def test_cli_errors(ckpt, tmp_path, capsys):
    out = tmp_path / "gen"
    _one_line_error(run_cli("embbert-export", ckpt, "--board", "nope", "--out", out,
                            check=False), "unknown board 'nope'", "esp32s3", "qemu-m4")
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(b"\x00not a checkpoint" * 10)
    _one_line_error(run_inproc(capsys, ckpt.parent / "nothing-here.pt", "--board", "host",
                               "--out", out), "no such checkpoint")
    _one_line_error(run_inproc(capsys, bad, "--board", "host", "--out", out), "not a readable")
    foreign = tmp_path / "foreign.pt"
    torch.save({"format": "gpt2", "weights": [1, 2]}, foreign)
    _one_line_error(run_inproc(capsys, foreign, "--board", "host", "--out", out), "foreign file")
    _one_line_error(run_inproc(capsys, ckpt, "--out", out), "--board")
    _one_line_error(run_inproc(capsys, ckpt, "--board", "host", "--max-len", "25", "--out", out),
                    "max-len")
    _one_line_error(run_inproc(capsys, ckpt, "--board", "host", "--max-len", "x", "--out", out),
                    "max-len")
    assert not out.exists() and _leftovers(tmp_path) == []


def test_plain_state_dict_needs_config(ckpt, tmp_path, capsys):
    from embbert.checkpoint import load
    sd_path = tmp_path / "weights.pt"
    torch.save(load(ckpt).state_dict, sd_path)
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps(CFG.to_dict()))
    out = tmp_path / "gen"
    _one_line_error(run_inproc(capsys, sd_path, "--board", "host", "--out", out), "--config")
    calib = tmp_path / "calib.jsonl"
    calib.write_text("".join(json.dumps({"ids": [2, 7, 9, 4], "segs": [1, 1, 1, 1]}) + "\n"
                             for _ in range(3)))
    p = run_inproc(capsys, sd_path, "--config", cfg_path, "--board", "host", "--out", out,
                   "--calib", calib, "--max-len", "16")
    assert p.returncode == 0, p.stderr
    assert "calibration: 3 given sequences" in p.stdout
    assert json.loads((out / "export_report.json").read_text())["arena_bytes_by_seq_len"] \
        == {"16": json.loads((out / "export_report.json").read_text())["arena_bytes"]}


def test_too_big_model_is_refused_with_breakdown(tmp_path, capsys):
    big = EmbBertConfig(vocab_size=40000, max_len=64, d_model=64, reduced_dim=32, n_layers=1,
                        conv_kernel=4, num_labels=2)
    path = save_random_checkpoint(big, tmp_path / "big.pt", realistic=False)
    out = tmp_path / "gen"
    p = run_inproc(capsys, path, "--board", "nucleo-f446re", "--out", out)
    # refused from its size before quantizing; the message says what does not fit
    _one_line_error(p, "model too big for nucleo-f446re: its int8 weights alone need at least")
    assert "quantizing" not in p.stdout
    assert not out.exists() and _leftovers(tmp_path) == []


def test_struct_layout_mirror_matches_c(tmp_path):
    exe = build_layout(tmp_path)
    got = json.loads(subprocess.run([str(exe)], capture_output=True, text=True,
                                    check=True).stdout)
    assert set(got) == set(STRUCTS)
    for name, c in got.items():
        py = struct_layout(name, ptr=8)
        assert c["sizeof"] == py["sizeof"], name
        assert c["offsetof"] == py["offsetof"], name
    print("\n" + ", ".join(f"sizeof({n}) = {struct_layout(n, 4)['sizeof']} on 32-bit targets"
                           for n in STRUCTS))


def test_quantized_weight_roundtrip_in_generated_c(ckpt, tmp_path):
    """The int8 data in model_data.c is the QuantModel's, in row-major order."""
    res, mq = export(ckpt, load_board("host"), tmp_path / "g")
    c = (tmp_path / "g" / "model_data.c").read_text()
    body = c[c.index("l1_pw_q["):]
    body = body[body.index("{") + 1:body.index("};")]
    vals = np.array([int(v) for v in body.replace("\n", " ").split(",") if v.strip()])
    assert np.array_equal(vals, mq.layers[1].pw.q.reshape(-1))


def test_struct_layout_mirror_on_32bit_target(tmp_path):
    """The ptr=4 layout (flash accounting, docs/FORMAT.md) checked by arm-none-eabi-gcc."""
    import shutil

    from embbert.cbuild import RUNTIME
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    lines = ['#include <stddef.h>', '#include "embbert/model_format.h"']
    for name in STRUCTS:
        lay = struct_layout(name, ptr=4)
        t = "struct ebq_model" if name == "ebq_model" else name
        lines.append(f'_Static_assert(sizeof({t}) == {lay["sizeof"]}, "{name}");')
        for f, off in lay["offsetof"].items():
            lines.append(f'_Static_assert(offsetof({t}, {f}) == {off}, "{name}.{f}");')
    (tmp_path / "lay.c").write_text("\n".join(lines) + "\n")
    from embbert.cbuild import target
    subprocess.run(["arm-none-eabi-gcc", "-std=c11", *target("qemu-m4").machine, "-c",
                    f"-I{RUNTIME / 'include'}", "-o", str(tmp_path / "lay.o"),
                    str(tmp_path / "lay.c")], check=True)
    assert struct_layout("ebq_model", 4)["sizeof"] == 216
    assert struct_layout("ebq_qtensor", 4)["sizeof"] == 32


def test_calibrates_on_the_task_training_text(tiny_checkpoint, tmp_path):
    """A checkpoint with a tokenizer and a task calibrates on that task's training split."""
    res, mq = export(tiny_checkpoint, load_board("host"), tmp_path / "g")
    assert mq.meta["calibration"].endswith("of emotion/train"), mq.meta["calibration"]
    assert res.report["fits"]
