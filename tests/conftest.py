"""Shared fixtures: tiny configs and checkpoints, so no test depends on a long training run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

# One thread per process: tests and their subprocesses share 2 cores (and maybe a training job);
# competing thread pools make them several times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

TINY = dict(vocab_size=300, max_len=32, d_model=16, reduced_dim=4, n_layers=2, conv_kernel=4,
            expansion=1, num_labels=3)


def run_cli(name: str, *args: str, check: bool = True, env: dict | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """Run one of our console scripts as a user would."""
    proc = subprocess.run([str(BIN / name), *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, cwd=REPO)
    if check and proc.returncode != 0:
        raise AssertionError(f"{name} {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc


@pytest.fixture(scope="session")
def tiny_tokenizer(tmp_path_factory) -> Path:
    """A 300-token WordPiece trained on a slice of the real corpus."""
    from embbert.tokenizer import train_tokenizer
    from embbert.train.corpus import corpus_documents

    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    path.write_text(train_tokenizer(corpus_documents(limit_lines=200), 300).to_str())
    return path


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tiny_tokenizer) -> Path:
    from embbert.checkpoint import Checkpoint, save
    from embbert.model import EmbBert, EmbBertConfig

    torch.manual_seed(0)
    cfg = EmbBertConfig(**TINY)
    m = EmbBert(cfg)
    path = tmp_path_factory.mktemp("ck") / "tiny.pt"
    save(Checkpoint(config=cfg, state_dict=m.state_dict(), tokenizer=tiny_tokenizer.read_text(),
                    labels=["a", "b", "c"], task="emotion"), path)
    return path
