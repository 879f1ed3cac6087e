"""Training CLIs on tiny configs and a few steps: pretrain, resume, DDP, finetune, eval, predict."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from embbert import checkpoint

from .conftest import BIN, REPO, run_cli

TINY_ARGS = ["--vocab-size", "300", "--max-len", "32", "--d-model", "16", "--reduced-dim", "4",
             "--n-layers", "2", "--conv-kernel", "4", "--seq-len", "32", "--batch-size", "4",
             "--limit-lines", "200", "--warmup", "2", "--seed", "3"]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pre")
    proc = run_cli("embbert-train", "pretrain", "--out", out, "--steps", "6", *TINY_ARGS)
    assert "pretrained checkpoint" in proc.stdout and "next:" in proc.stdout
    return out


def test_pretrain_writes_loadable_checkpoint(pretrained):
    ck = checkpoint.load(pretrained / "pretrained.pt")
    assert ck.task == "pretrain" and ck.metrics["step"] == 6
    assert ck.config.d_model == 16 and ck.tokenizer
    assert "mlm" in ck.metrics and "nsp" in ck.metrics


def test_resume_continues_exactly(pretrained, tmp_path):
    """3 steps + --resume to 6 ends with the same weights as 6 steps straight."""
    out = tmp_path / "resumed"
    shutil.copytree(pretrained / "cache", out / "cache")
    shutil.copy(pretrained / "tokenizer.json", out / "tokenizer.json")
    run_cli("embbert-train", "pretrain", "--out", out, "--steps", "6", "--stop-at", "3",
            *TINY_ARGS)
    assert checkpoint.load(out / "pretrained.pt").metrics["step"] == 3
    run_cli("embbert-train", "pretrain", "--out", out, "--steps", "6", "--resume", *TINY_ARGS)
    a = checkpoint.load(out / "pretrained.pt").state_dict
    b = checkpoint.load(pretrained / "pretrained.pt").state_dict
    assert all((a[k] == b[k]).all() for k in a), "resumed run diverged"


def test_resume_without_state_is_an_error(tmp_path):
    proc = run_cli("embbert-train", "pretrain", "--out", tmp_path, "--resume", *TINY_ARGS,
                   check=False)
    assert proc.returncode == 1 and "no" in proc.stderr and "state.pt" in proc.stderr


def test_ddp_two_cpu_processes_end_identical(pretrained, tmp_path):
    out = tmp_path / "ddp"
    shutil.copytree(pretrained / "cache", out / "cache")
    shutil.copy(pretrained / "tokenizer.json", out / "tokenizer.json")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    proc = subprocess.run(
        [str(BIN / "torchrun"), "--nproc_per_node", "2", "--master_port", "29531",
         "-m", "embbert.cli.train", "pretrain", "--out", str(out), "--steps", "4",
         "--rank-digest", "--threads", "1", *TINY_ARGS],
        capture_output=True, text=True, env=env, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    d0 = (out / "digest-rank0.txt").read_text()
    d1 = (out / "digest-rank1.txt").read_text()
    assert d0 == d1 and len(d0.strip()) == 64
    # and training actually moved the weights away from a single-process run's
    single = checkpoint.load(pretrained / "pretrained.pt").state_dict
    ddp = checkpoint.load(out / "pretrained.pt").state_dict
    assert any(not (single[k] == ddp[k]).all() for k in single)


@pytest.fixture(scope="module")
def finetuned(pretrained, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ft") / "sst2.pt"
    run_cli("embbert-train", "finetune", "--task", "sst2", "--init",
            pretrained / "pretrained.pt", "--out", out, "--epochs", "2", "--limit", "64",
            "--batch-size", "16")
    return out


def test_finetune_checkpoint_has_labels_and_metrics(finetuned):
    ck = checkpoint.load(finetuned)
    assert ck.task == "sst2" and ck.labels == ["negative", "positive"]
    assert ck.config.num_labels == 2
    assert 0.0 <= ck.metrics["dev_accuracy"] <= 1.0
    # sst2 reports dev, so the epoch is chosen on a held-out slice of train, never on dev
    assert ck.extra["selected_on"] == "heldout" and len(ck.extra["history"]) == 2
    assert "heldout_accuracy" in ck.metrics


def test_finetune_without_dev_uses_heldout_and_reports_test(pretrained, tmp_path):
    out = tmp_path / "nlu.pt"
    run_cli("embbert-train", "finetune", "--task", "nlu", "--init",
            pretrained / "pretrained.pt", "--out", out, "--epochs", "1", "--limit", "64",
            "--dropout", "0.1")
    ck = checkpoint.load(out)
    assert ck.extra["selected_on"] == "heldout"
    assert ck.extra["recipe"]["dropout"] == 0.1
    assert "heldout_accuracy" in ck.metrics and "test_accuracy" in ck.metrics
    assert ck.config.num_labels == 64


def test_finetune_regression(pretrained, tmp_path):
    out = tmp_path / "stsb.pt"
    run_cli("embbert-train", "finetune", "--task", "stsb", "--init",
            pretrained / "pretrained.pt", "--out", out, "--epochs", "1", "--limit", "32")
    ck = checkpoint.load(out)
    assert ck.config.num_labels == 1 and "dev_pearson" in ck.metrics
    proc = run_cli("embbert-eval", out, "--split", "dev", "--limit", "20")
    assert "pearson" in proc.stdout and "spearman" in proc.stdout


def test_eval_cli_json(finetuned, tmp_path):
    js = tmp_path / "m.json"
    proc = run_cli("embbert-eval", finetuned, "--split", "dev", "--limit", "40", "--json", js)
    assert "sst2 dev (fp32): accuracy" in proc.stdout
    m = json.loads(js.read_text())
    assert m["task"] == "sst2" and 0.0 <= m["accuracy"] <= 1.0


def test_eval_quantized(finetuned, tmp_path):
    js = tmp_path / "q.json"
    proc = run_cli("embbert-eval", finetuned, "--split", "dev", "--limit", "40", "--quantized",
                   "--json", js)
    assert "sst2 dev (quantized): accuracy" in proc.stdout
    assert json.loads(js.read_text())["kind"] == "quantized"


def test_eval_quantized_export_options(finetuned, tmp_path):
    js = tmp_path / "q.json"
    run_cli("embbert-eval", finetuned, "--split", "dev", "--limit", "20", "--quantized",
            "--threshold", "4", "--max-outliers", "2", "--json", js)
    m = json.loads(js.read_text())
    assert m["threshold"] == 4.0 and m["max_outliers"] == 2
    proc = run_cli("embbert-eval", finetuned, "--threshold", "4", check=False)
    assert proc.returncode != 0 and "only with --quantized" in proc.stderr


def test_predict_cli_json(finetuned):
    proc = run_cli("embbert-predict", finetuned, "a gorgeous , witty movie", "--json")
    out = json.loads(proc.stdout)
    assert set(out) == {"ids", "segs", "logits", "label", "windows"}
    assert out["windows"] == 1  # a short text on a model finetuned without windows
    assert out["ids"][0] == 2 and out["ids"][-1] == 4 and len(out["ids"]) == len(out["segs"])
    assert len(out["logits"]) == 2 and out["label"] in ("negative", "positive")


def test_predict_pair_and_too_long(finetuned, tmp_path):
    import torch

    obj = torch.load(finetuned, weights_only=True)
    obj["task"] = ""  # sst2 is single-sentence: predict refuses --pair on it
    torch.save(obj, tmp_path / "any.pt")
    proc = run_cli("embbert-predict", tmp_path / "any.pt", "one two", "--pair", "three",
                   "--json")
    segs = json.loads(proc.stdout)["segs"]
    assert segs[0] == 1 and segs[-1] == 2
    long_text = " ".join(["word"] * 100)
    bad = run_cli("embbert-predict", finetuned, long_text, check=False)
    assert bad.returncode == 1 and "longer than max_len" in bad.stderr
    ok = run_cli("embbert-predict", finetuned, long_text, "--truncate", "--json")
    assert len(json.loads(ok.stdout)["ids"]) == 32


def test_eval_wrong_task_is_an_error(finetuned):
    proc = run_cli("embbert-eval", finetuned, "--task", "imdb", check=False)
    assert proc.returncode == 1 and "finetuned on 'sst2'" in proc.stderr


def test_train_help_shows_example():
    proc = run_cli("embbert-train", "pretrain", "--help")
    assert "Example" in proc.stdout
    assert sys.executable


def test_resume_keeps_the_schedule_of_the_first_stage(pretrained, tmp_path):
    """The cosine is fixed when a run starts: a later stage cannot stretch it, only stop early."""
    out = tmp_path / "staged"
    shutil.copytree(pretrained / "cache", out / "cache")
    shutil.copy(pretrained / "tokenizer.json", out / "tokenizer.json")
    run_cli("embbert-train", "pretrain", "--out", out, "--steps", "6", "--stop-at", "2",
            *TINY_ARGS)
    proc = run_cli("embbert-train", "pretrain", "--out", out, "--steps", "9", "--resume",
                   *TINY_ARGS, check=False)
    assert proc.returncode == 1 and "--steps 6" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    args = [a for a in TINY_ARGS]
    i = args.index("--warmup")
    del args[i:i + 2]                      # the second stage names no schedule at all
    run_cli("embbert-train", "pretrain", "--out", out, "--resume", "--stop-at", "4", *args)
    run_cli("embbert-train", "pretrain", "--out", out, "--resume", *args)
    a = checkpoint.load(out / "pretrained.pt")
    b = checkpoint.load(pretrained / "pretrained.pt")
    assert a.metrics["step"] == 6 and a.extra["recipe"]["steps"] == 6
    assert all((a.state_dict[k] == b.state_dict[k]).all() for k in a.state_dict)


def test_heldout_accuracy_is_logged(pretrained, tmp_path):
    out = tmp_path / "eval"
    shutil.copytree(pretrained / "cache", out / "cache")
    shutil.copy(pretrained / "tokenizer.json", out / "tokenizer.json")
    run_cli("embbert-train", "pretrain", "--out", out, "--steps", "4", "--eval-every", "2",
            *TINY_ARGS)
    rows = [json.loads(line) for line in (out / "eval.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4]
    for r in rows:
        assert 0.0 <= r["heldout_mlm_acc"] <= 1.0 and 0.0 <= r["heldout_nsp_acc"] <= 1.0
    ck = checkpoint.load(out / "pretrained.pt")
    assert round(ck.metrics["heldout_mlm_acc"], 4) == rows[-1]["heldout_mlm_acc"]


def test_heldout_documents_are_never_in_the_training_stream():
    import numpy as np
    from embbert.train.corpus import TokenStream

    lengths = np.array([3, 1, 4, 1, 5, 9, 2, 6])
    ends = np.cumsum(lengths)
    tokens = np.repeat(np.arange(len(lengths)), lengths).astype(np.uint16)  # token = doc id
    train, held = TokenStream(tokens, ends - lengths, ends).split(3)
    assert sorted(set(held.tokens.tolist())) == [0, 3, 6]
    assert sorted(set(train.tokens.tolist())) == [1, 2, 4, 5, 7]
    assert len(train) + len(held) == len(tokens)
    for s in (train, held):  # every document of a split is whole and back to back
        for a, b in zip(s.doc_starts, s.doc_ends, strict=True):
            assert len(set(s.tokens[a:b].tolist())) == 1
            assert b - a == lengths[s.tokens[a]]


@pytest.mark.parametrize("payload", [b"not a torch file", "list", "missing-step"])
def test_resume_refuses_a_corrupt_or_foreign_state(tmp_path, payload):
    import torch

    state = tmp_path / "state.pt"
    if payload == "list":
        torch.save([1, 2, 3], state)
    elif payload == "missing-step":
        torch.save({"config": {}, "tokenizer": "", "net": {}, "optimizer": {}}, state)
    else:
        state.write_bytes(payload)
    proc = run_cli("embbert-train", "pretrain", "--out", tmp_path, "--resume", *TINY_ARGS,
                   check=False)
    assert proc.returncode == 1 and str(state) in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_eval_quantized_on_the_c_runtime_scores_the_same(finetuned, tmp_path):
    sim, c = tmp_path / "sim.json", tmp_path / "c.json"
    run_cli("embbert-eval", finetuned, "--split", "dev", "--limit", "60", "--quantized",
            "--json", sim)
    run_cli("embbert-eval", finetuned, "--split", "dev", "--limit", "60", "--quantized",
            "--engine", "c", "--json", c)
    a, b = json.loads(sim.read_text()), json.loads(c.read_text())
    assert (a["engine"], b["engine"]) == ("sim", "c") and a["accuracy"] == b["accuracy"]
    proc = run_cli("embbert-eval", finetuned, "--engine", "c", check=False)
    assert proc.returncode == 1 and proc.stderr.strip() == \
        "error: --engine c applies only with --quantized"
