"""Finetuning's resumable state: written after every epoch next to the output model
(OUT.state.pt), so an interrupted run loses at most the epoch in progress, and `--resume`
continues exactly where the last completed epoch left off (weights, optimizer, schedule step,
the batch order's and dropout's random streams, the best epoch so far)."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import checkpoint
from ..errors import EmbBertError

# Options that shape the run: a resumed run must use the ones it started with.
FIXED = ("task", "init", "epochs", "batch_size", "lr", "warmup_frac", "weight_decay", "dropout",
         "max_len", "windows", "seed", "limit", "tokenizer", "config")
# options added later: a state saved before them ran with this value
ADDED = {"windows": False}


def state_path(out: Path) -> Path:
    return Path(str(out) + ".state.pt")


@dataclass
class Progress:
    """Where a finetuning run is: what the next epoch starts from."""

    epoch: int = 0                      # completed epochs
    step: int = 0
    best: float = -np.inf
    best_epoch: int = -1
    best_state: dict | None = None
    history: list = field(default_factory=list)
    seconds: float = 0.0                # training time of earlier invocations


def _recipe(opts) -> dict:
    d = {k: getattr(opts, k) for k in FIXED}
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}


def save(opts, model: torch.nn.Module, opt: torch.optim.Optimizer, rng: np.random.Generator,
         p: Progress, cfg: dict, tokenizer: str) -> None:
    """Atomically, so a kill while saving leaves the previous epoch's state."""
    state = {"config": cfg, "tokenizer": tokenizer, "net": model.state_dict(),
             "optimizer": opt.state_dict(), "step": p.step, "epoch": p.epoch,
             "best": float(p.best), "best_epoch": p.best_epoch, "best_state": p.best_state,
             "history": p.history, "seconds": p.seconds, "recipe": _recipe(opts),
             "numpy_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state()}
    path = state_path(opts.out)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        torch.save(state, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def load(opts) -> dict:
    """The state of the run writing opts.out, checked against this invocation's options."""
    path = state_path(opts.out)
    if not path.is_file():
        raise EmbBertError(f"--resume: no {path} to resume from (it is written after each "
                           "epoch and removed when the run ends)")
    st = checkpoint.load_train_state(path)
    for key, kind in (("epoch", int), ("best_epoch", int), ("history", list),
                      ("recipe", dict), ("numpy_rng", dict), ("best", float)):
        if not isinstance(st.get(key), kind) or isinstance(st.get(key), bool):
            raise EmbBertError(f"{path}: not a finetuning state ({key!r} missing or not a "
                               f"{kind.__name__}); start again without --resume")
    if not isinstance(st.get("torch_rng"), torch.Tensor):
        raise EmbBertError(f"{path}: not a finetuning state (no random generator state)")
    now = _recipe(opts)
    was_run = {k: st["recipe"].get(k, ADDED.get(k)) for k in FIXED}
    changed = [k for k in FIXED if was_run[k] != now[k]]
    if changed:
        was = ", ".join(f"--{k.replace('_', '-')} {was_run[k]!r}" for k in changed)
        raise EmbBertError(f"--resume: this run started with {was}; resume with the same "
                           "options (or start a new run without --resume)")
    if not 0 < st["epoch"] <= opts.epochs:
        raise EmbBertError(f"{path}: state at epoch {st['epoch']} of {opts.epochs}")
    return st


def restore(st: dict, model: torch.nn.Module, opt: torch.optim.Optimizer,
            rng: np.random.Generator) -> Progress:
    try:
        model.load_state_dict(st["net"])
        opt.load_state_dict(st["optimizer"])
        rng.bit_generator.state = st["numpy_rng"]
        torch.set_rng_state(st["torch_rng"])
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        raise EmbBertError(f"--resume: the saved state does not fit this model ({e})") from e
    best_state = st.get("best_state")
    return Progress(epoch=st["epoch"], step=st["step"], best=st["best"],
                    best_epoch=st["best_epoch"], history=list(st["history"]),
                    best_state=copy.deepcopy(best_state) if best_state is not None else None,
                    seconds=float(st.get("seconds", 0.0)))


def finish(opts) -> None:
    """The model is written: the state is no longer needed."""
    state_path(opts.out).unlink(missing_ok=True)
