"""The bundled task models over their whole reported split (SST-2 dev, Snips test, NLU-scenario
test): the C runtime (host build) against the quantized simulation (must be bit-exact) and
against fp32 PyTorch (argmax >= 99%)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from embbert.boards import load_board
from embbert.cbuild import build_run, run_model
from embbert.checkpoint import file_sha256, load
from embbert.data import load_split
from embbert.export.exporter import export_quantized
from embbert.quant import quantize
from embbert.quant.as_exported import default_calibration
from embbert.tokenizer import encode_examples, from_json
from embbert.train.evaluate import fp32_logits

from .conftest import REPO

BUNDLED = [("sst2", "dev"), ("snips", "test"), ("nlu_scenario", "test")]


@pytest.mark.parametrize("task, split", BUNDLED)
def test_c_runtime_vs_simulation_and_fp32(task: str, split: str, tmp_path: Path):
    model = REPO / "models" / f"{task}.pt"
    if not model.is_file():
        pytest.skip(f"models/{task}.pt not bundled")
    ck = load(model)
    assert ck.task == task
    examples = load_split(task, split)
    seqs = encode_examples(from_json(ck.tokenizer), examples, ck.config.max_len)
    calib, _ = default_calibration(ck, ck.config.max_len)
    mq = quantize(ck, calib, sha256=file_sha256(model))
    export_quantized(mq, load_board("host"), tmp_path / "gen", sha256=file_sha256(model),
                     checkpoint=str(model))
    exe = build_run(tmp_path / "gen", tmp_path / "build")
    rc, outs, err = run_model(exe, seqs)
    assert rc == 0, err
    dev = np.stack(outs)                                             # [N, C] from C
    sim = mq.logits_batch(seqs)
    ref = fp32_logits(ck.model(), seqs)
    gold = np.array([e.label for e in examples])

    assert dev.shape == sim.shape == (len(examples), len(ck.labels))
    assert np.array_equal(dev, sim), "C runtime is not bit-exact with the simulation"
    agree_fp32 = float((dev.argmax(1) == ref.argmax(1)).mean())
    err = np.abs(dev - ref)                                          # logit error vs fp32
    cos = (dev * ref).sum(1) / (np.linalg.norm(dev, axis=1) * np.linalg.norm(ref, axis=1))
    print(f"\n{task} {split} ({len(examples)}): argmax agreement with fp32 {agree_fp32:.4f}, "
          f"max abs logit error {err.max():.4f}, mean {err.mean():.4f}, "
          f"cosine min {cos.min():.4f} mean {cos.mean():.5f}; accuracy C "
          f"{(dev.argmax(1) == gold).mean():.4f} vs fp32 {(ref.argmax(1) == gold).mean():.4f}")
    assert agree_fp32 >= 0.99
