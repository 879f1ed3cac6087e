#!/usr/bin/env python3
"""Print docs/RESULTS.md's table from finetuned checkpoints (metrics stored in each model.pt).

    python tools/results_table.py models/tasks [--quantized]
"""

from __future__ import annotations

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


def main(folder: Path, quantized: bool) -> None:
    rows = ["| task | group | split | metric | ours fp32 | " + ("ours int8 | " if quantized else "")
            + "paper EmbBERT-Q | train time |",
            "|---|---|---|---|---:|" + ("---:|" if quantized else "") + "---:|---:|"]
    for name, task in TASKS.items():
        path = folder / f"{name}.pt"
        if not path.is_file():
            continue
        ck = load(path)
        split = task.eval_split
        ours = ck.metrics.get(f"{split}_{task.metric}")
        q = ""
        if quantized:
            from embbert.evaluate import evaluate_checkpoint, quantized_logits_fn

            m, _ = evaluate_checkpoint(ck, name, split, logits_fn=quantized_logits_fn(ck))
            q = f"{fmt(task.metric, m[task.metric])} | "
        paper = PAPER.get(name)
        paper_s = "-" if paper is None else (f"{paper:.2f}" if paper < 1 else f"{paper:.1f}")
        mins = ck.extra.get("train_seconds", 0) / 60
        rows.append(f"| {name} | {task.group} | {split} | {task.metric} | "
                    f"{fmt(task.metric, ours)} | {q}{paper_s} | {mins:.0f} min |")
    print("\n".join(rows))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(Path(args[0] if args else "models/tasks"), "--quantized" in sys.argv)
