"""Long texts scored as the mean over max_len windows (finetune --windows, embbert-eval)."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from embbert import checkpoint
from embbert.data import load_split
from embbert.errors import EmbBertError
from embbert.model import CLS_ID, SEP_ID
from embbert.tokenizer import encode_windows, from_json, window_mean, window_starts
from embbert.train.evaluate import fp32_logits

from .conftest import REPO, run_cli


@pytest.mark.parametrize("n", [0, 1, 29, 30, 31, 59, 60, 61, 200])
def test_windows_cover_the_text_with_full_windows(n):
    budget = 30
    starts = window_starts(n, budget)
    assert starts[0] == 0 and starts == sorted(set(starts))
    covered = set()
    for s in starts:
        covered |= set(range(s, min(s + budget, n)))
        assert s + budget <= max(n, budget)        # every window is full when the text is
    assert covered == set(range(n))
    assert len(starts) == max(1, -(-n // budget))  # as few as back-to-back windows need
    with pytest.raises(EmbBertError):
        window_starts(5, 0)


def test_window_logits_are_the_mean_over_the_windows(tiny_checkpoint):
    ck = checkpoint.load(tiny_checkpoint)
    enc, model, L = from_json(ck.tokenizer), ck.model(), ck.config.max_len
    examples = load_split("imdb", "test")[:6]
    seqs, owner = encode_windows(enc, examples, L)
    assert all(len(ids) <= L and ids[0] == CLS_ID and ids[-1] == SEP_ID for ids, _ in seqs)
    pieces = enc.pieces([e.text_a for e in examples])
    assert np.bincount(owner).tolist() == [len(window_starts(len(p), L - 2)) for p in pieces]
    got = window_mean(fp32_logits(model, seqs), owner, len(examples))
    for i, p in enumerate(pieces):  # independent: each window through the model by itself
        rows = [p[s:s + L - 2] for s in window_starts(len(p), L - 2)]
        with torch.no_grad():
            want = torch.stack([model(torch.tensor([[CLS_ID, *r, SEP_ID]]),
                                      torch.ones(1, len(r) + 2, dtype=torch.long))[0]
                                for r in rows]).mean(0)
        np.testing.assert_allclose(got[i], want.numpy(), rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def windowed(tiny_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("win") / "imdb.pt"
    run_cli("embbert-train", "finetune", "--task", "imdb", "--init", tiny_checkpoint,
            "--limit", "48", "--threads", "1", "--out", out, "--epochs", "1", "--windows")
    return out


def test_finetune_and_eval_with_windows(windowed, tmp_path):
    out = windowed
    ck = checkpoint.load(out)
    assert ck.extra["recipe"]["windows"] is True and "test_accuracy" in ck.metrics
    js = tmp_path / "e.json"
    proc = run_cli("embbert-eval", out, "--limit", "40", "--json", js)
    assert "(fp32, windows)" in proc.stdout and json.loads(js.read_text())["windows"] is True
    run_cli("embbert-eval", out, "--limit", "40", "--no-windows", "--quantized", "--json", js)
    assert json.loads(js.read_text())["windows"] is False
    with pytest.raises(EmbBertError, match="single-text tasks only"):
        encode_windows(from_json(ck.tokenizer), load_split("mrpc", "dev")[:2], 32)


def test_windows_option_errors_and_resume_guard(tiny_checkpoint, tmp_path):
    bad = run_cli("embbert-train", "finetune", "--task", "mrpc", "--init", tiny_checkpoint,
                  "--out", tmp_path / "m.pt", "--epochs", "1", "--limit", "32", "--windows",
                  check=False)
    assert bad.returncode == 1 and "single-text tasks" in bad.stderr
    assert not (tmp_path / "m.pt").exists()


def test_results_table_names_windows_and_the_head_only_score(windowed, tmp_path):
    shutil.copy(windowed, tmp_path / "imdb.pt")

    def table() -> str:
        out = subprocess.run([sys.executable, str(REPO / "tools" / "results_table.py"),
                              str(tmp_path), "--baselines", str(tmp_path / "none")],
                             capture_output=True, text=True, cwd=REPO, check=True).stdout
        return next(ln for ln in out.splitlines() if ln.startswith("| imdb |"))

    ours = 100 * checkpoint.load(windowed).metrics["test_accuracy"]
    assert f"| {ours:.1f} (windows) |" in table()
    # the head-only score as `embbert-eval --no-windows --json` writes it (tested above);
    # one on a slice of the split (limit) is not the table's figure
    head = {"task": "imdb", "split": "test", "kind": "fp32", "windows": False, "accuracy": 0.615}
    (tmp_path / "imdb.head.json").write_text(json.dumps({**head, "limit": 40}))
    assert f"| {ours:.1f} (windows) |" in table()
    (tmp_path / "imdb.head.json").write_text(json.dumps({**head, "limit": None}))
    assert f"| {ours:.1f} (windows; first 32 tokens: 61.5) |" in table()


def test_resume_guard_knows_windows(tiny_checkpoint, tmp_path):
    """A run started without --windows is not resumed with it (the recipe would be mixed); a
    state saved before the option existed counts as started without it."""
    from embbert.train import finetune_state as st
    from embbert.train.finetune import FinetuneOptions

    ck = checkpoint.load(tiny_checkpoint)
    model = ck.model()
    opt = torch.optim.AdamW(model.parameters())
    opts = FinetuneOptions(task="imdb", out=tmp_path / "i.pt", init=tiny_checkpoint, epochs=2)
    st.save(opts, model, opt, np.random.default_rng(0),
            st.Progress(1, 3, 0.5, 1, model.state_dict(), [{"epoch": 1, "accuracy": 0.5}], 1.0),
            ck.config.to_dict(), ck.tokenizer)
    assert st.load(opts)["epoch"] == 1
    opts.windows = True
    with pytest.raises(EmbBertError, match="--windows False"):
        st.load(opts)
    saved = torch.load(st.state_path(opts.out), weights_only=True)
    del saved["recipe"]["windows"]
    torch.save(saved, st.state_path(opts.out))
    with pytest.raises(EmbBertError, match="--windows False"):
        st.load(opts)
    opts.windows = False
    assert st.load(opts)["epoch"] == 1
