#!/usr/bin/env python3
"""Print docs/RESULTS.md's table from finetuned checkpoints (metrics stored in each model.pt)
and the bag-of-words baselines (`make baselines` -> docs/baselines.json).

    python tools/results_table.py runs/tasks [--quantized] [--baselines docs/baselines.json]

A task's runs are DIR/<task>.pt or DIR/<task>.seed<k>.pt (tools/finetune_all.sh with SEEDS);
with several, each cell is mean +- sd (sample, n-1) over the seeds. With --quantized, the int8
column comes from DIR/<run>.int8.json when it is newer than the checkpoint (`embbert-eval
DIR/<run>.pt --quantized --json DIR/<run>.int8.json`, which can run while other tasks still
train), else it is computed here. Tasks with neither runs nor a baseline are left out.
Runs finetuned with --windows are scored on the mean over windows covering each text; the cell
adds the first-max_len-tokens score (the paper's setting) from DIR/<run>.head.json when present
(`embbert-eval DIR/<run>.pt --no-windows --json DIR/<run>.head.json`).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
from embbert.checkpoint import Checkpoint, load
from embbert.data import TASKS, Task
from embbert.train.evaluate import uses_windows

# EmbBERT-Q as reported in the paper (arXiv 2502.10001), on the task's primary metric. Its NLU
# figure is the 18-scenario task; its MRPC figure is accuracy.
PAPER = {"imdb": 84.0, "ag_news": 90.6, "cyberbullying": 86.6, "limit": 74.1, "emotion": 89.9,
         "nlu_scenario": 94.1, "snips": 97.9, "sst2": 81.0, "cola": 0.11, "mrpc": 68.0,
         "rte": 49.0}
UNIT_METRICS = ("mcc", "pearson", "spearman")   # shown as is, the rest in percent


def fmt(metric: str, values: list[float]) -> str:
    if not values:
        return "-"
    scale, nd = (1, 3) if metric in UNIT_METRICS else (100, 1)
    v = np.array(values, dtype=np.float64) * scale
    if len(v) == 1:
        return f"{v[0]:.{nd}f}"
    return f"{v.mean():.{nd}f} ± {v.std(ddof=1):.{nd}f}"


def delta(metric: str, d: float) -> str:
    return f"{d:+.3f}" if metric in UNIT_METRICS else f"{100 * d:+.1f}"


def runs_of(folder: Path, name: str) -> list[Path]:
    """DIR/<name>.pt and DIR/<name>.seed<k>.pt, in seed order."""
    seeded = [p for p in folder.glob(f"{name}.seed*.pt")
              if re.fullmatch(rf"{re.escape(name)}\.seed\d+\.pt", p.name)]
    plain = folder / f"{name}.pt"
    return ([plain] if plain.is_file() else []) + sorted(
        seeded, key=lambda p: int(p.name[len(name) + 5:-3]))


def head_only(runs: list[Path], cks: list[Checkpoint], split: str, metric: str) -> str:
    """' (windows; first N tokens: x)' for windowed runs, from their .head.json files."""
    if not any(uses_windows(ck) for ck in cks):
        return ""
    vals = []
    for p in runs:
        f = p.with_suffix(".head.json")
        if f.is_file():
            m = json.loads(f.read_text())
            if (m.get("split") == split and m.get("windows") is False and metric in m
                    and m.get("limit") is None):
                vals.append(m[metric])
    head = f"; first {cks[0].config.max_len} tokens: {fmt(metric, vals)}" if vals else ""
    return f" (windows{head})"


def quantized_metric(path: Path, ck: Checkpoint, name: str, split: str, metric: str
                     ) -> tuple[float, str]:
    """(int8 metric, export options it needs beyond the defaults, e.g. "threshold 4.0")."""
    cached = path.with_suffix(".int8.json")
    if cached.is_file() and cached.stat().st_mtime >= path.stat().st_mtime:
        m = json.loads(cached.read_text())
        if (m.get("split") == split and m.get("limit") is None and metric in m
                and m.get("windows", False) == uses_windows(ck)):
            opts = ", ".join(f"{k.replace('_', '-')} {m[k]}" for k in ("threshold", "max_outliers")
                             if k in m)
            return m[metric], opts
    from embbert.quant.as_exported import quantized_logits_fn
    from embbert.train.evaluate import evaluate_checkpoint

    m, _ = evaluate_checkpoint(ck, name, split, logits_fn=quantized_logits_fn(ck))
    return m[metric], ""


def baseline_cells(task: Task, base: dict | None) -> str:
    if not base:
        return "- | - | "
    vals = " / ".join(fmt(m, [base[f"{task.eval_split}_{m}"]]) for m in task.metrics)
    return f"{vals} | {base['device_bytes']['int8'] / 1024:.0f} KiB | "


def row(name: str, task: Task, runs: list[Path], base: dict | None, quantized: bool) -> str:
    split = task.eval_split
    cks = [load(p) for p in runs]
    ours = " / ".join(fmt(m, [ck.metrics[f"{split}_{m}"] for ck in cks
                              if f"{split}_{m}" in ck.metrics]) for m in task.metrics)
    ours += head_only(runs, cks, split, task.metric) if cks else ""
    q = ""
    if quantized:
        if cks:
            pairs = [(quantized_metric(p, ck, name, split, task.metric),
                      ck.metrics[f"{split}_{task.metric}"])
                     for p, ck in zip(runs, cks, strict=True)]
            opts = ", ".join(sorted({o for (_, o), _ in pairs if o}))
            q = (f"{fmt(task.metric, [v for (v, _), _ in pairs])}"
                 f"{f' (--{opts})' if opts else ''} | "
                 f"{delta(task.metric, float(np.mean([v - f for (v, _), f in pairs])))} | ")
        else:
            q = "- | - | "
    paper = PAPER.get(name)
    paper_s = "-" if paper is None else (f"{paper:.2f}" if paper < 1 else f"{paper:.1f}")
    mins = [ck.extra.get("train_seconds", 0) / 60 for ck in cks]
    time_s = f"{np.mean(mins):.0f} min" if mins else "-"
    chosen = ", ".join(sorted({str(ck.extra.get("selected_on", "?")) for ck in cks})) or "-"
    return (f"| {name} | {task.group} | {split} | {chosen} | {' / '.join(task.metrics)} | "
            f"{ours} | {q}{baseline_cells(task, base)}{paper_s} | {len(cks)} | {time_s} |")


def main(folder: Path, quantized: bool, baselines: Path | None) -> None:
    base = json.loads(baselines.read_text()) if baselines and baselines.is_file() else {}
    rows = ["| task | group | split | epoch chosen on | metric | ours fp32 | "
            + ("ours int8 | int8 - fp32 | " if quantized else "")
            + "bag-of-words | its size (int8) | paper EmbBERT-Q | seeds | train time |",
            "|---|---|---|---|---|---:|" + ("---:|---:|" if quantized else "")
            + "---:|---:|---:|---:|---:|"]
    for name, task in TASKS.items():
        runs = runs_of(folder, name)
        if runs or name in base:
            rows.append(row(name, task, runs, base.get(name), quantized))
    print("\n".join(rows))


if __name__ == "__main__":
    argv = sys.argv[1:]
    b = Path("docs/baselines.json")
    if "--baselines" in argv:
        i = argv.index("--baselines")
        b = Path(argv[i + 1])
        del argv[i:i + 2]
    args = [a for a in argv if not a.startswith("--")]
    main(Path(args[0] if args else "runs/tasks"), "--quantized" in argv, b)
