"""Quantize the way embbert-export does: one place for its calibration choice and defaults.

embbert-export writes the result to quantized_model.npz (quant.store); eval --quantized, perf
and peers call quantize_as_exported, and the bench reads the export's file and only falls back
on this (with the export report's settings) for an export that predates the file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..checkpoint import Checkpoint
from ..errors import EmbBertError
from .quantize import DEFAULT_THRESHOLD, Calib, QuantModel, quantize, random_calibration

CALIBRATION_SENTENCES = 256
Seq = tuple[list[int], list[int]]


def default_calibration(ckpt: Checkpoint, max_len: int, n: int = CALIBRATION_SENTENCES,
                        seed: int = 0) -> tuple[list, str]:
    """Calibration sequences and a description: the checkpoint's own task training text when
    it carries a tokenizer and a task (n examples spread over the split), else random tokens."""
    if ckpt.tokenizer and ckpt.task and ckpt.task != "pretrain":
        try:
            from ..data import load_split
            from ..tokenizer import encode_examples, from_json
            examples = load_split(ckpt.task, "train")
            if examples:
                step = max(1, len(examples) // n)
                picked = examples[::step][:n]
                seqs = encode_examples(from_json(ckpt.tokenizer), picked, max_len)
                seqs = [(np.asarray(i, np.int64), np.asarray(s, np.int64)) for i, s in seqs]
                return seqs, f"{len(seqs)} sentences of {ckpt.task}/train"
        except (EmbBertError, OSError, ImportError) as e:
            note = f" ({ckpt.task} training text unavailable: {str(e).splitlines()[0][:80]})"
        else:
            note = ""
    else:
        note = ""
    seqs = random_calibration(ckpt.config, 64, seed=seed, max_len=max_len)
    return seqs, f"{len(seqs)} random sequences{note}; pass --calib with task text"


def quantize_as_exported(ckpt: Checkpoint, *, max_len: int | None = None,
                         calib: Calib | None = None, threshold: float | None = None,
                         max_outliers: int | None = None, sha256: str = "") -> QuantModel:
    """The QuantModel embbert-export builds with these options (None: its defaults).
    meta["calibration"] says which calibration text was used; meta also carries the
    checkpoint's task, labels and tokenizer, so an export directory is enough to bench."""
    L = max_len or ckpt.config.max_len
    if calib is None:
        calib, how = default_calibration(ckpt, L)
    else:
        how = f"{len(calib)} given sequences"
    mq = quantize(ckpt, calib, max_len=max_len,
                  threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
                  max_outliers=max_outliers, sha256=sha256)
    mq.meta["calibration"] = how
    mq.meta.update(task=ckpt.task, labels=list(ckpt.labels), tokenizer=ckpt.tokenizer)
    return mq


def quantized_logits_fn(ck: Checkpoint, max_len: int | None = None, **quant_opts
                        ) -> Callable[[Sequence[Seq]], np.ndarray]:
    """Logits of the integer-exact quantized simulation, calibrated exactly as the exporter
    calibrates (so these are the logits the device computes); quant_opts as embbert-export's
    (threshold, max_outliers)."""
    return quantize_as_exported(ck, max_len=max_len, **quant_opts).logits_batch
