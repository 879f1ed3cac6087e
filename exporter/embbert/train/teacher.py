"""Distillation while finetuning (finetune --teacher): soft targets for the training rows from the
bag-of-words baseline (out-of-fold, so they are not its memorized labels) or from an ensemble of
finetuned checkpoints of the same task, and the loss that mixes them with the labels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import checkpoint
from ..data import Example, get_task, load_labels
from ..errors import EmbBertError
from ..tokenizer import from_json
from .evaluate import example_logits, fp32_logits, uses_windows

BOW = "bow"


def _bow_logits(task_name: str, train: Sequence[Example], select: Sequence[Example]
                ) -> np.ndarray:
    # C is chosen on the selection split, as for the baseline itself; then 5-fold predictions
    try:
        from . import bow  # scikit-learn: the dev extra
    except ImportError as e:
        raise EmbBertError("--teacher bow needs scikit-learn (pip install -e '.[dev]')") from e
    try:
        model, _ = bow.fit_selected(task_name, train, select)
        return bow.out_of_fold_logits(task_name, train, model.strength)
    except ValueError as e:  # e.g. a training slice with one class
        raise EmbBertError(f"bag-of-words teacher for {task_name}: {e}") from e


def _checkpoint_logits(path: Path, task_name: str, train: Sequence[Example]) -> np.ndarray:
    ck = checkpoint.load(path)
    if ck.task != task_name:
        raise EmbBertError(f"teacher {path} was finetuned on {ck.task or 'nothing'!r}, "
                           f"not {task_name!r}")
    if ck.labels != load_labels(get_task(task_name)):
        raise EmbBertError(f"teacher {path}: its labels differ from the task's labels.txt")
    model = ck.model()
    return example_logits(lambda seqs: fp32_logits(model, seqs), from_json(ck.tokenizer), train,
                          ck.config.max_len, uses_windows(ck))


def soft_targets(specs: Sequence[str], task_name: str, train: Sequence[Example],
                 select: Sequence[Example], temperature: float) -> np.ndarray:
    """Mean over the teachers of softmax(logits / T) on the training rows: [N, C]."""
    task = get_task(task_name)
    if task.regression:
        raise EmbBertError(f"--teacher needs a classification task; {task_name} is regression")
    probs = []
    for spec in specs:
        if spec == BOW:
            logits = _bow_logits(task_name, train, select)
        else:
            logits = _checkpoint_logits(Path(spec), task_name, train)
        probs.append(torch.softmax(torch.from_numpy(logits).double() / temperature, -1))
    return torch.stack(probs).mean(0).float().numpy()


def distill_loss(logits: torch.Tensor, target: torch.Tensor, soft: torch.Tensor | None,
                 weight: float, temperature: float, smoothing: float) -> torch.Tensor:
    """(1 - w) * cross-entropy with the labels + w * T^2 * KL(teacher || student at T)."""
    hard = F.cross_entropy(logits, target, label_smoothing=smoothing)
    if soft is None or weight == 0:
        return hard
    log_student = F.log_softmax(logits / temperature, -1)
    kl = F.kl_div(log_student, soft, reduction="batchmean")
    return (1 - weight) * hard + weight * temperature ** 2 * kl
