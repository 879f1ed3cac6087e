"""Interrupted training resumes exactly: the run is killed by a signal in the middle of a
checkpoint interval (not at a boundary it chose), then `--resume` ends with the same weights as
a run that was never interrupted."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import torch
from embbert import checkpoint

from .conftest import BIN, REPO, run_cli
from .test_train import TINY_ARGS

FT_ARGS = ["--task", "sst2", "--epochs", "2", "--limit", "800", "--batch-size", "8",
           "--dropout", "0.1", "--seed", "5"]


def _start(*args: object) -> subprocess.Popen:
    # SIGINT back to default in the child: a shell's background job inherits it ignored, and
    # Python then never turns it into KeyboardInterrupt
    return subprocess.Popen([str(BIN / "embbert-train"), *map(str, args)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _kill_when(proc: subprocess.Popen, ready, sig: int, timeout: float = 240) -> str:
    """Sends sig as soon as ready() holds (polling every 10 ms); returns stderr."""
    t0 = time.monotonic()
    while not ready():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < timeout
        time.sleep(0.01)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return err


def _same(a: Path, b: Path) -> None:
    x, y = checkpoint.load(a), checkpoint.load(b)
    assert x.state_dict.keys() == y.state_dict.keys()
    assert all(torch.equal(x.state_dict[k], y.state_dict[k]) for k in x.state_dict), \
        "the resumed run diverged"
    assert x.metrics == y.metrics and x.extra["history"] == y.extra["history"]


def test_finetune_killed_mid_epoch_resumes_exactly(tiny_checkpoint, tmp_path):
    init = tiny_checkpoint
    straight = tmp_path / "straight.pt"
    run_cli("embbert-train", "finetune", "--init", init, "--out", straight, *FT_ARGS)
    assert not Path(str(straight) + ".state.pt").exists()  # removed once the model is written

    out = tmp_path / "killed.pt"
    state = Path(str(out) + ".state.pt")
    proc = _start("finetune", "--init", init, "--out", out, *FT_ARGS)
    _kill_when(proc, state.exists, signal.SIGKILL)       # epoch 1 saved, epoch 2 running
    assert proc.returncode == -signal.SIGKILL and not out.exists()
    assert torch.load(state, weights_only=True)["epoch"] == 1    # killed inside epoch 2

    proc = run_cli("embbert-train", "finetune", "--init", init, "--out", out, *FT_ARGS,
                   "--resume")
    assert "resuming after epoch 1 of 2" in proc.stdout
    _same(out, straight)
    assert not state.exists()


def test_finetune_sigint_says_how_to_resume_and_never_restarts(tiny_checkpoint, tmp_path):
    out = tmp_path / "int.pt"
    state = Path(str(out) + ".state.pt")
    proc = _start("finetune", "--init", tiny_checkpoint, "--out", out, *FT_ARGS)
    err = _kill_when(proc, state.exists, signal.SIGINT)
    assert proc.returncode == 130 and not out.exists()
    assert err.strip().splitlines()[-1].startswith("interrupted; continue with the same "
                                                   "command and --resume")
    again = run_cli("embbert-train", "finetune", "--init", tiny_checkpoint, "--out", out,
                    *FT_ARGS, check=False)
    assert again.returncode == 1 and "--resume" in again.stderr   # never silently restarts
    changed = [a if a != "800" else "700" for a in FT_ARGS]
    proc = run_cli("embbert-train", "finetune", "--init", tiny_checkpoint, "--out", out,
                   *changed, "--resume", check=False)
    assert proc.returncode == 1 and "--limit 800" in proc.stderr  # the options it started with
    assert len(proc.stderr.strip().splitlines()) == 1


def test_finetune_checks_its_output_before_training(tiny_checkpoint):
    t0 = time.monotonic()
    proc = run_cli("embbert-train", "finetune", "--init", tiny_checkpoint, "--out",
                   "/proc/embbert-no/model.pt", *FT_ARGS, check=False)
    assert proc.returncode == 1 and "cannot write in /proc" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert time.monotonic() - t0 < 20  # no epoch ran


def test_pretrain_killed_mid_interval_resumes_exactly(tiny_tokenizer, tmp_path):
    """state.pt every 10 steps; SIGKILL lands between two saves; resume reaches step 20 with
    the weights of a straight 20-step run."""
    args = ["--steps", "20", "--ckpt-every", "10", "--eval-every", "0", "--tokenizer",
            tiny_tokenizer, *TINY_ARGS]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    run_cli("embbert-train", "pretrain", "--out", straight, *args)
    shutil.copytree(straight / "cache", killed / "cache")  # the token cache, not the state

    state = killed / "state.pt"
    proc = _start("pretrain", "--out", killed, *args)
    _kill_when(proc, state.exists, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    step = torch.load(state, weights_only=True)["step"]
    assert step == 10, f"killed after the save at step {step}: not mid-interval"
    run_cli("embbert-train", "pretrain", "--out", killed, "--resume", *args)
    a = checkpoint.load(killed / "pretrained.pt")
    b = checkpoint.load(straight / "pretrained.pt")
    assert a.metrics["step"] == b.metrics["step"] == 20
    assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)


def test_finetune_all_resumes_a_run_killed_with_its_lane(tiny_checkpoint, tmp_path):
    """tools/finetune_all.sh killed mid-run (its whole process group, as a session end does):
    the same command continues that run from its last epoch instead of refusing or restarting."""
    env = {**os.environ, "OUT": str(tmp_path), "TASKS": "sst2", "SEEDS": "1", "THREADS": "1",
           "OMP_NUM_THREADS": "1", "BIN": str(BIN), "EXTRA": " ".join(FT_ARGS[2:])}
    cmd = ["bash", str(REPO / "tools" / "finetune_all.sh"), str(tiny_checkpoint)]
    state = tmp_path / "sst2.pt.state.pt"
    lane = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    t0 = time.monotonic()
    while not state.exists():
        assert lane.poll() is None, lane.communicate()
        assert time.monotonic() - t0 < 240
        time.sleep(0.01)
    os.killpg(lane.pid, signal.SIGKILL)
    lane.communicate(timeout=60)
    assert not (tmp_path / "sst2.pt").exists()
    again = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "--resume" in again.stdout and "resuming after epoch 1 of 2" in again.stdout
    assert (tmp_path / "sst2.pt").is_file() and not state.exists()
