"""`make baselines`: the bag-of-words baseline (bow.py) on every task, chosen on the same
selection split as finetuning, scored on the reported split -> one JSON file.

    python -m embbert.train.baselines --out docs/baselines.json [--tasks imdb,nlu] [--limit N]

The file is updated task by task (a run for a few tasks keeps the others' entries).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..data import TASKS, get_task, load_split, selection_split, spaced
from ..errors import EmbBertError
from . import bow


def run_task(name: str, limit: int | None = None) -> dict:
    task = get_task(name)
    train, select = selection_split(name)
    report = load_split(name, task.eval_split)
    if limit:
        n = max(limit // 4, 8)
        train, select, report = spaced(train, limit), spaced(select, n), spaced(report, n)
    t0 = time.time()
    model, history = bow.fit_selected(name, train, select)
    best = next(h for h in history if h["strength"] == model.strength)
    return {
        "select_split": task.select_split, "eval_split": task.eval_split,
        "rows": {"train": len(train), "select": len(select), "eval": len(report)},
        "strength": model.strength, "grid": history,
        **{f"{task.select_split}_{k}": v for k, v in best.items() if k != "strength"},
        **{f"{task.eval_split}_{k}": v for k, v in bow.score(name, model, report).items()},
        "device_bytes": model.device_bytes(), "fit_seconds": round(time.time() - t0, 1),
        "limit": limit,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="JSON file (updated in place)")
    ap.add_argument("--tasks", default=",".join(TASKS), help="comma-separated task names")
    ap.add_argument("--limit", type=int, default=None, help="only N training rows (tests)")
    args = ap.parse_args(argv)
    try:
        names = [t for t in args.tasks.split(",") if t]
        for t in names:
            get_task(t)
        results = json.loads(args.out.read_text()) if args.out.is_file() else {}
        if not isinstance(results, dict):
            raise EmbBertError(f"{args.out}: not a baselines file (expected a JSON object)")
        for name in names:
            r = run_task(name, args.limit)
            results[name] = r
            key = f"{r['eval_split']}_{get_task(name).metric}"
            print(f"{name}: {key} {r[key]:.4f} (C/alpha {r['strength']}, "
                  f"{r['device_bytes']['int8'] / 1024:.0f} KiB int8, {r['fit_seconds']} s)",
                  flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(dict(sorted(results.items())), indent=1) + "\n")
    except (EmbBertError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
