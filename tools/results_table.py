#!/usr/bin/env python3
"""Print docs/RESULTS.md's table from finetuned checkpoints (metrics stored in each model.pt).

    python tools/results_table.py runs/tasks [--quantized]

With --quantized, the int8 column comes from DIR/<task>.int8.json when it is newer than the
checkpoint (`embbert-eval DIR/<task>.pt --quantized --json DIR/<task>.int8.json`, which can run
while other tasks still train), else it is computed here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from embbert.checkpoint import load
from embbert.data import TASKS

# EmbBERT-Q as reported in the paper (arXiv 2502.10001), on the task's primary metric.
PAPER = {"imdb": 84.0, "ag_news": 90.6, "cyberbullying": 86.6, "limit": 74.1, "emotion": 89.9,
         "nlu": 94.1, "snips": 97.9, "sst2": 81.0, "cola": 0.11, "mrpc": 68.0, "rte": 49.0}


def fmt(metric: str, v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if metric in ("mcc", "pearson") else f"{100 * v:.1f}"


def delta(metric: str, d: float) -> str:
    return f"{d:+.3f}" if metric in ("mcc", "pearson") else f"{100 * d:+.1f}"


def quantized_metric(path: Path, ck, name: str, split: str, metric: str) -> tuple[float, str]:
    """(int8 metric, export options it needs beyond the defaults, e.g. "threshold 4.0")."""
    cached = path.with_suffix(".int8.json")
    if cached.is_file() and cached.stat().st_mtime >= path.stat().st_mtime:
        m = json.loads(cached.read_text())
        if m.get("split") == split and m.get("limit") is None:
            opts = ", ".join(f"{k.replace('_', '-')} {m[k]}" for k in ("threshold", "max_outliers")
                             if k in m)
            return m[metric], opts
    from embbert.quant.as_exported import quantized_logits_fn
    from embbert.train.evaluate import evaluate_checkpoint

    m, _ = evaluate_checkpoint(ck, name, split, logits_fn=quantized_logits_fn(ck))
    return m[metric], ""


def main(folder: Path, quantized: bool) -> None:
    rows = ["| task | group | split | metric | ours fp32 | "
            + ("ours int8 | int8 - fp32 | " if quantized else "")
            + "paper EmbBERT-Q | train time |",
            "|---|---|---|---|---:|" + ("---:|---:|" if quantized else "") + "---:|---:|"]
    for name, task in TASKS.items():
        path = folder / f"{name}.pt"
        if not path.is_file():
            continue
        ck = load(path)
        split = task.eval_split
        ours = ck.metrics.get(f"{split}_{task.metric}")
        q = ""
        if quantized:
            qv, opts = quantized_metric(path, ck, name, split, task.metric)
            q = (f"{fmt(task.metric, qv)}{f' (--{opts})' if opts else ''} | "
                 f"{delta(task.metric, qv - ours)} | ")
        paper = PAPER.get(name)
        paper_s = "-" if paper is None else (f"{paper:.2f}" if paper < 1 else f"{paper:.1f}")
        mins = ck.extra.get("train_seconds", 0) / 60
        rows.append(f"| {name} | {task.group} | {split} | {task.metric} | "
                    f"{fmt(task.metric, ours)} | {q}{paper_s} | {mins:.0f} min |")
    print("\n".join(rows))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(Path(args[0] if args else "models/tasks"), "--quantized" in sys.argv)
