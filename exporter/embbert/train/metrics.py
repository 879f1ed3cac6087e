"""Task metrics: accuracy, Matthews correlation (CoLA), F1 (MRPC), Pearson/Spearman (STS-B)."""

from __future__ import annotations

import numpy as np


def accuracy(pred: np.ndarray, gold: np.ndarray) -> float:
    return float(np.mean(np.asarray(pred) == np.asarray(gold))) if len(gold) else 0.0


def f1_binary(pred: np.ndarray, gold: np.ndarray, positive: int = 1) -> float:
    pred, gold = np.asarray(pred), np.asarray(gold)
    tp = int(np.sum((pred == positive) & (gold == positive)))
    fp = int(np.sum((pred == positive) & (gold != positive)))
    fn = int(np.sum((pred != positive) & (gold == positive)))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def mcc(pred: np.ndarray, gold: np.ndarray) -> float:
    """Matthews correlation for binary labels; 0 when a marginal is empty (as sklearn)."""
    pred, gold = np.asarray(pred), np.asarray(gold)
    tp = float(np.sum((pred == 1) & (gold == 1)))
    tn = float(np.sum((pred == 0) & (gold == 0)))
    fp = float(np.sum((pred == 1) & (gold == 0)))
    fn = float(np.sum((pred == 0) & (gold == 1)))
    den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return float((tp * tn - fp * fn) / den) if den > 0 else 0.0


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    xc, yc = x - x.mean(), y - y.mean()
    den = np.sqrt((xc * xc).sum() * (yc * yc).sum())
    return float((xc * yc).sum() / den) if den > 0 else 0.0


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks with ties averaged (as scipy.stats.rankdata)."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=np.float64)
    sx = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sx[j + 1] == sx[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    return pearson(_ranks(x), _ranks(y))


def task_metrics(names: tuple[str, ...], outputs: np.ndarray, gold: np.ndarray
                 ) -> dict[str, float]:
    """The named metrics (Task.metrics); `outputs` are logits [N, C] (or scores [N, 1]).
    Classification tasks always get accuracy too."""
    if "pearson" in names or "spearman" in names:
        scores = outputs.reshape(len(outputs), -1)[:, 0]
        return {n: (pearson if n == "pearson" else spearman)(scores, gold) for n in names}
    pred = outputs.argmax(-1)
    fns = {"accuracy": accuracy, "mcc": mcc, "f1": f1_binary}
    return {n: fns[n](pred, gold) for n in dict.fromkeys((*names, "accuracy"))}
