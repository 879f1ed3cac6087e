"""Hostile inputs to every CLI: each ends with one line `error: ...` and a non-zero exit (never a
traceback, never a number computed from nonsense with exit 0), cheaply and before long work;
a real bug still shows its traceback with --debug.

Most cases run the real click commands in this process (CliRunner: the same code path, without
paying the interpreter and torch start-up per case); a few run the installed scripts."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from embbert import checkpoint
from embbert.errors import EmbBertError

from .conftest import REPO

MODEL = REPO / "models" / "sst2.pt"
pytestmark = pytest.mark.skipif(not MODEL.is_file(), reason="models/sst2.pt not bundled")


def _variant(tmp_path: Path, name: str, **changes) -> Path:
    obj = torch.load(MODEL, weights_only=True)
    sd = dict(obj["state_dict"])
    for k, v in changes.pop("sd", {}).items():
        sd[k] = v(sd[k])
    obj.update(state_dict=sd, **changes)
    path = tmp_path / f"{name}.pt"
    torch.save(obj, path)
    return path


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run(name: str, *args: object, input: str | None = None, env: dict | None = None) -> Ran:
    """An embbert CLI, in process; exit code, stdout and stderr as a user would see them."""
    from click.testing import CliRunner
    from embbert.cli import bench, evaluate, export, predict, train

    cmd = {"embbert-eval": evaluate.main, "embbert-export": export.cli,
           "embbert-predict": predict.main, "embbert-train": train.main,
           "embbert-bench": bench.main}[name]
    r = CliRunner(env=env).invoke(cmd, [str(a) for a in args], input=input,
                                  catch_exceptions=False)
    return Ran(r.exit_code, r.stdout, r.stderr)


def _error(proc, *needles: str) -> str:
    err = proc.stderr.strip()
    assert proc.returncode == 1, (proc.returncode, proc.stdout[-500:], err[-2000:])
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("error: "), err
    for n in needles:
        assert n in err, err
    return err


BAD_CHECKPOINTS = {
    "version 0": (dict(version=0), "version 0 is not valid"),
    "version -7": (dict(version=-7), "version -7 is not valid"),
    "version True": (dict(version=True), "version True is not valid"),
    "integer weights": (dict(sd={"classifier.weight": lambda t: t.to(torch.int64)}),
                        "torch.int64 values"),
    "complex weights": (dict(sd={"classifier.weight": lambda t: t.to(torch.complex64)}),
                        "torch.complex64 values"),
    "labels an int": (dict(labels=5), "'labels' must be a list"),
    "labels not strings": (dict(labels=[1, 2]), "labels must be a list of strings"),
    "metrics a list": (dict(metrics=[1, 2]), "'metrics' must be a dict"),
    "metrics not numbers": (dict(metrics={"acc": "high"}), "metrics must map names"),
    "labels short": (dict(labels=["negative"]), "1 labels for a model with 2 outputs"),
    "task a dict": (dict(task={}), "'task' must be a str"),
}


@pytest.mark.parametrize("case", list(BAD_CHECKPOINTS))
def test_bad_checkpoint_fields_are_refused(tmp_path, case):
    changes, msg = BAD_CHECKPOINTS[case]
    with pytest.raises(EmbBertError) as ei:
        checkpoint.load(_variant(tmp_path, "bad", **changes))
    assert msg in str(ei.value)


def test_bad_checkpoint_is_one_line_in_every_cli(tmp_path):
    bad = _variant(tmp_path, "v0", version=0)
    for cli in (["embbert-predict", bad, "fine"], ["embbert-eval", bad, "--limit", "5"],
                ["embbert-export", bad, "--board", "host", "--out", tmp_path / "g"]):
        _error(run(*cli), "version 0 is not valid")


def test_huge_config_is_refused_without_allocating(tmp_path):
    """A 1.5 MB file claiming a 30M-token vocab: refused from its shapes, in little memory."""
    obj = torch.load(MODEL, weights_only=True)
    obj["config"] = {**obj["config"], "vocab_size": 30_000_000}
    path = tmp_path / "huge.pt"
    torch.save(obj, path)
    code = ("import resource, sys\nfrom embbert import checkpoint\n"
            "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "try:\n    checkpoint.load(sys.argv[1])\nexcept Exception as e:\n    print(e)\n"
            "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=120)
    msg, grew_mb = proc.stdout.strip().splitlines()
    assert "embed.tok.weight has shape (8192, 16), config needs (30000000, 16)" in msg
    assert int(grew_mb) < 100, f"{grew_mb} MB to reject it (a real model would need 1.9 GB)"


def test_non_finite_logits_are_refused(tmp_path):
    bad = _variant(tmp_path, "overflow",
                   sd={"classifier.weight": lambda t: torch.full_like(t, 3e38)})
    _error(run("embbert-predict", bad, "a fine movie"), "NaN or Inf logits")
    _error(run("embbert-eval", bad, "--limit", "8"), "NaN or Inf logits")


def test_eval_refuses_a_head_that_is_not_the_tasks(tmp_path):
    notask = _variant(tmp_path, "notask", task="")  # before: "accuracy 0.38" with exit 0
    _error(run("embbert-eval", notask, "--task", "emotion", "--limit", "20"),
           "emotion has 6 labels", "2 outputs")


@pytest.mark.parametrize("limit", ["0", "-5"])
def test_eval_limit_must_be_positive(limit):
    proc = run("embbert-eval", MODEL, "--limit", limit)
    assert proc.returncode == 2 and "--limit" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("opts,msg", [(["--threshold", "nan"], "--threshold nan"),
                                      (["--threshold", "-1"], "--threshold -1.0"),
                                      (["--max-outliers", "100000"], "--max-outliers 100000"),
                                      (["--max-outliers", "0"], "--max-outliers 0")])
def test_outlier_options_are_validated_before_work(tmp_path, opts, msg):
    t0 = time.monotonic()
    _error(run("embbert-export", MODEL, "--board", "host", "--out", tmp_path / "g", *opts),
           msg)
    _error(run("embbert-eval", MODEL, "--quantized", "--limit", "4", *opts),
           msg)
    assert time.monotonic() - t0 < 40 and not (tmp_path / "g").exists()


def test_max_outliers_above_d_model_is_refused_at_quantization(tmp_path):
    _error(run("embbert-export", MODEL, "--board", "host", "--out", tmp_path / "g",
                   "--max-outliers", "129"), "must be in [1, 128] (d_model)")


def test_lambda_overflow_is_one_line(tmp_path):
    bad = _variant(tmp_path, "lambda", sd={"layers.0.lambda_q1": lambda t: t * 0 + 30.0,
                                           "layers.0.lambda_k1": lambda t: t * 0 + 30.0})
    _error(run("embbert-export", bad, "--board", "host", "--out", tmp_path / "g"),
           "layer 0: exp(lambda_q . lambda_k) overflows")


@pytest.mark.parametrize("args,msg", [
    (["--max-len", "1"], "--max-len 1: must be in [2, 256]"),
    (["--max-len", "300"], "--max-len 300: must be in [2, 256] (the model's max_len is 256)"),
    (["--out", "."], "not empty and not a previous export"),
    (["--out", "/proc/embbert-no/gen"], "cannot create it"),
])
def test_export_bad_length_or_out_fails_before_quantizing(tmp_path, args, msg):
    t0 = time.monotonic()
    _error(run("embbert-export", MODEL, "--board", "host", *args), msg)
    assert time.monotonic() - t0 < 30


def test_export_refuses_max_len_beyond_the_firmware(tmp_path):
    from embbert.device.protocol import FW_MAX_T
    from embbert.export import preflight

    assert preflight.FW_MAX_T == FW_MAX_T
    obj = torch.load(MODEL, weights_only=True)
    obj["config"] = {**obj["config"], "max_len": 1024}
    obj["state_dict"] = {**obj["state_dict"], "embed.pos.weight": torch.zeros(1024, 16)}
    path = tmp_path / "long.pt"
    torch.save(obj, path)
    _error(run("embbert-export", path, "--board", "host", "--out", tmp_path / "g"),
           "the firmware accepts at most 512 tokens", "--max-len 512")


def test_model_too_big_for_a_board_is_refused_from_its_size(tmp_path, tiny_tokenizer):
    """Refused in seconds from the config, not after minutes of quantization, with the
    --max-len that would fit when the arena is what does not."""
    from embbert.checkpoint import Checkpoint, save
    from embbert.model import EmbBert, EmbBertConfig

    cfg = EmbBertConfig(vocab_size=300, max_len=512, d_model=256, reduced_dim=8, n_layers=1,
                        conv_kernel=4, num_labels=2)
    path = tmp_path / "wide.pt"
    save(Checkpoint(config=cfg, state_dict=EmbBert(cfg).state_dict(),
                    tokenizer=tiny_tokenizer.read_text()), path)
    t0 = time.monotonic()
    err = _error(run("embbert-export", path, "--board", "nucleo-f446re", "--out",
                         tmp_path / "g"), "model too big for nucleo-f446re",
                 "try --max-len")
    assert time.monotonic() - t0 < 30
    fit = int(err.rsplit("--max-len ", 1)[1])
    proc = run("embbert-export", path, "--board", "nucleo-f446re", "--out", tmp_path / "g",
                   "--max-len", str(fit), "--no-check")
    assert proc.returncode == 0, proc.stderr  # the suggestion is right (an upper bound)


def test_data_field_over_the_csv_limit(tmp_path):
    data = tmp_path / "data"
    (data / "sst2").mkdir(parents=True)
    shutil.copy(REPO.parent / "shared" / "data" / "sst2" / "labels.txt", data / "sst2")
    with gzip.open(data / "sst2" / "dev.tsv.gz", "wt") as f:
        f.write("label\tsentence\npositive\t" + "word " * 40000 + "\n")
    _error(run("embbert-eval", MODEL, "--split", "dev",
                   env={"EMBBERT_DATA": str(data)}), "dev.tsv.gz:2: field larger than")


@pytest.mark.parametrize("where", ["/proc/embbert-no/m.json", "DIR"])
def test_eval_json_checked_before_work(tmp_path, where):
    target = tmp_path if where == "DIR" else where
    _error(run("embbert-eval", MODEL, "--limit", "4", "--json", target),
           "--json")


@pytest.mark.parametrize("opt", ["--json", "--report"])
def test_bench_outputs_checked_before_connecting(tmp_path, opt):
    """The port would time out after seconds; the unwritable output is refused at once."""
    target = "/proc/embbert-no/out"
    proc = run("embbert-bench", "--port", "socket://127.0.0.1:9", "--model", MODEL, opt, target)
    _error(proc, opt, "cannot write")


def test_eval_json_into_a_missing_directory_is_created(tmp_path):
    out = tmp_path / "a" / "b" / "m.json"
    run("embbert-eval", MODEL, "--limit", "4", "--json", out)
    assert out.is_file()


def test_predict_text_from_stdin_file_and_bad_inputs(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("a fine movie " * 80_000)  # 1 MB: more than argv can carry
    proc = run("embbert-predict", MODEL, "--file", big, "--truncate", "--json")
    assert '"label"' in proc.stdout
    proc = run("embbert-predict", MODEL, "-", input="a gorgeous , witty movie")
    assert proc.returncode == 0 and "label:" in proc.stdout
    empty = run("embbert-predict", MODEL, "")
    assert "warning: empty text" in empty.stderr
    _error(run("embbert-predict", MODEL, "fine", "--pair", "ok"),
           "single-sentence model (sst2)")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"a fine \xff movie")
    _error(run("embbert-predict", MODEL, "--file", bad), "not valid UTF-8")
    argv = subprocess.run([str(Path(sys.executable).parent / "embbert-predict"), str(MODEL),
                           b"a \xff movie"], capture_output=True, text=True, timeout=120)
    _error(argv, "TEXT is not valid UTF-8")
    _error(run("embbert-predict", MODEL), "exactly one")


def test_a_bug_is_one_line_and_debug_shows_the_traceback(monkeypatch):
    """An unexpected exception is reported as a bug in one line with exit 3; --debug prints
    the traceback."""
    import embbert.tokenizer

    def broken(_: str):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(embbert.tokenizer, "from_json", broken)
    proc = run("embbert-predict", MODEL, "fine")
    err = proc.stderr.strip()
    assert proc.returncode == 3 and len(err.splitlines()) == 1, err
    assert "internal error (ZeroDivisionError: division by zero)" in err and "--debug" in err
    dbg = run("embbert-predict", MODEL, "fine", "--debug")
    assert dbg.returncode == 3 and "Traceback (most recent call last)" in dbg.stderr
