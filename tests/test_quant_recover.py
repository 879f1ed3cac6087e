"""Recovery finetune: the straight-through fake-quant forward is the exported model."""

from __future__ import annotations

import numpy as np
import torch
from embbert.checkpoint import load
from embbert.model import EmbBertConfig
from embbert.quant import quantize, random_calibration
from embbert.quant.recover import fake_quant_forward, recover
from embbert.quant.testing import limit_threads, random_checkpoint

from .conftest import run_cli

limit_threads()

CFG = EmbBertConfig(vocab_size=300, max_len=32, d_model=32, reduced_dim=8, n_layers=2,
                    conv_kernel=6, expansion=2, num_labels=3)


def test_fake_quant_forward_matches_the_simulation():
    ck = random_checkpoint(CFG, seed=3, outlier_channels=(4,))
    mq = quantize(ck, random_calibration(CFG, 32, seed=0), max_outliers=2, threshold=4.0)
    assert any(len(L.h_outliers) for L in mq.layers)
    seqs = random_calibration(CFG, 30, seed=5, min_len=1)
    m = ck.model()
    with torch.no_grad():
        fq = np.array([fake_quant_forward(m, mq, torch.as_tensor(i)[None],
                                          torch.as_tensor(s)[None])[0].numpy() for i, s in seqs])
    err = np.abs(fq - mq.logits_batch(seqs)).max(axis=1)
    # The fake-quant forward sums in torch's order, the simulation in C's: a value landing on a
    # rounding tie can flip one int8 step in a rare sample (~5e-3 in the logits). Everything
    # else agrees to float rounding; a wrong rounding rule would show up as errors everywhere.
    assert np.median(err) < 1e-5 and (err < 1e-4).mean() >= 0.9 and err.max() < 2e-2


def test_recovery_raises_quantized_accuracy():
    ck = random_checkpoint(CFG, seed=3, outlier_channels=(4,))
    cal = random_calibration(CFG, 32, seed=0)
    rng = np.random.default_rng(0)
    data = [(i, s, int(rng.integers(0, 3)))
            for i, s in random_calibration(CFG, 64, seed=7, min_len=2)]
    gold = np.array([y for *_, y in data])

    def quant_acc(c):
        q = quantize(c, cal, max_outliers=2).logits_batch([(i, s) for i, s, _ in data])
        return float((q.argmax(1) == gold).mean())

    rec = recover(ck, data, cal, steps=40, lr=3e-3, max_outliers=2)
    before, after = quant_acc(ck), quant_acc(rec)
    print(f"\nquantized train accuracy before recovery {before:.3f}, after {after:.3f}")
    assert after > before + 0.2
    assert rec.extra["recovered"]["steps"] == 40 and rec.config == ck.config


def test_export_cli_recover_option(tiny_tokenizer, tmp_path):
    from embbert.checkpoint import save
    from embbert.data import get_task, load_labels
    labels = load_labels(get_task("emotion"))
    cfg = EmbBertConfig(vocab_size=300, max_len=32, d_model=16, reduced_dim=4, n_layers=1,
                        conv_kernel=4, num_labels=len(labels))
    ck = random_checkpoint(cfg, seed=0, task="emotion")
    ck.tokenizer, ck.labels = tiny_tokenizer.read_text(), labels
    save(ck, tmp_path / "emotion.pt")
    out = tmp_path / "gen"
    rec = tmp_path / "rec.pt"
    p = run_cli("embbert-export", tmp_path / "emotion.pt", "--board", "host", "--out", out,
                "--recover-steps", "3", "--recover-out", rec, "--no-check")
    assert "wrote recovered checkpoint" in p.stdout
    ck = load(rec)
    assert ck.extra["recovered"]["steps"] == 3 and ck.task == "emotion"
    import json
    assert json.loads((out / "export_report.json").read_text())["checkpoint"] == str(rec)
