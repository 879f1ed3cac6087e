"""Run a model over a task split and score it (fp32 PyTorch, or any logits function)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..checkpoint import Checkpoint
from ..data import Example, Task, get_task, load_labels, load_split
from ..errors import EmbBertError
from ..model import EmbBert
from ..tokenizer import (
    TextEncoder,
    encode_examples,
    encode_windows,
    from_json,
    pad_batch,
    window_mean,
)
from .metrics import task_metrics

Seq = tuple[list[int], list[int]]


def length_batches(seqs: Sequence[Seq], batch_size: int) -> list[list[int]]:
    """Indices grouped by similar length: right padding does not change [CLS] logits, so this
    only saves work."""
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i][0]))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


@torch.no_grad()
def fp32_logits(model: EmbBert, seqs: Sequence[Seq], batch_size: int = 64) -> np.ndarray:
    model.eval()
    out = np.zeros((len(seqs), model.cfg.num_labels), dtype=np.float32)
    dev = next(model.parameters()).device
    for idx in length_batches(seqs, batch_size):
        ids, segs = pad_batch([seqs[i] for i in idx])
        logits = model(torch.from_numpy(ids).to(dev), torch.from_numpy(segs).to(dev))
        out[idx] = logits.float().cpu().numpy()
    return out


def example_logits(logits_fn: Callable[[Sequence[Seq]], np.ndarray], enc: TextEncoder,
                   examples: Sequence[Example], max_len: int, windows: bool = False
                   ) -> np.ndarray:
    """One row of logits per example: of its truncated text, or (windows) the mean over the
    max_len windows that cover the whole text."""
    if not windows:
        return logits_fn(encode_examples(enc, examples, max_len))
    seqs, owner = encode_windows(enc, examples, max_len)
    return window_mean(logits_fn(seqs), owner, len(examples))


def uses_windows(ck: Checkpoint) -> bool:
    """Whether the checkpoint was finetuned (and so is scored) on windows of long texts."""
    return bool(ck.extra.get("recipe", {}).get("windows", False))


def score(task_name: str, logits: np.ndarray, examples: Sequence[Example]) -> dict[str, float]:
    task = get_task(task_name)
    gold = np.array([e.label for e in examples])
    return task_metrics(task.metrics, logits, gold)


def evaluate_checkpoint(ck: Checkpoint, task_name: str, split: str, limit: int | None = None,
                        logits_fn: Callable[[Sequence[Seq]], np.ndarray] | None = None,
                        max_len: int | None = None, windows: bool | None = None
                        ) -> tuple[dict[str, float], np.ndarray]:
    """Metrics of a finetuned checkpoint on a split; logits_fn replaces fp32 PyTorch (e.g. the
    quantized simulation). windows: None = as the checkpoint was finetuned."""
    task = get_task(task_name)
    if ck.task and ck.task != task_name and ck.task != "pretrain":
        raise EmbBertError(f"checkpoint was finetuned on {ck.task!r}, not {task_name!r}")
    check_head(ck, task)
    if limit is not None and limit < 1:
        raise EmbBertError(f"--limit {limit}: must be at least 1")
    examples = load_split(task_name, split)[:limit]
    enc = from_json(ck.tokenizer)
    if windows is None:
        windows = uses_windows(ck)
    if logits_fn is None:
        model = ck.model()
        logits_fn = lambda seqs: fp32_logits(model, seqs)  # noqa: E731
    logits = example_logits(logits_fn, enc, examples, max_len or ck.config.max_len, windows)
    check_finite(logits)
    return score(task_name, logits, examples), logits


def check_head(ck: Checkpoint, task: Task) -> None:
    """The checkpoint's outputs must be the task's labels: a 2-label model scored on a 6-label
    task would print a meaningless accuracy."""
    if task.regression:
        if ck.config.num_labels != 1:
            raise EmbBertError(f"{task.name} needs a regression head (1 output), checkpoint "
                               f"has {ck.config.num_labels}")
        return
    labels = load_labels(task)
    if ck.config.num_labels != len(labels):
        raise EmbBertError(f"{task.name} has {len(labels)} labels, the checkpoint's head has "
                           f"{ck.config.num_labels} outputs: it was not finetuned on this task")
    if ck.labels and list(ck.labels) != labels:
        raise EmbBertError(f"{task.name} labels {labels} differ from the checkpoint's "
                           f"{list(ck.labels)}")


def check_finite(logits: np.ndarray) -> None:
    bad = ~np.isfinite(np.asarray(logits)).all(axis=-1)
    if bad.any():
        raise EmbBertError(f"the model produced NaN or Inf logits for {int(bad.sum())} of "
                           f"{len(bad)} inputs (first: #{int(np.argmax(bad)) + 1}): its weights "
                           "overflow; it cannot be scored")

