"""embbert-eval: score a finetuned checkpoint on a task split (fp32 or quantized simulation)."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

import click

from .common import check_writable, one_line_errors


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--task", default=None, help="task (default: the one the model was finetuned on)")
@click.option("--split", default=None, help="train/dev/test (default: test if labelled, else dev)")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="only the first N examples")
@click.option("--quantized", is_flag=True, help="evaluate the integer-exact quantized simulation")
@click.option("--threshold", type=float, default=None,
              help="with --quantized: outlier threshold, as embbert-export's [6.0]")
@click.option("--max-outliers", type=int, default=None,
              help="with --quantized: outlier channels per activation, as embbert-export's")
@click.option("--engine", type=click.Choice(["sim", "c"]), default="sim", show_default=True,
              help="with --quantized: the numpy simulation, or the C runtime built for this "
                   "machine (same bits, checked; ~9x faster on long texts)")
@click.option("--windows/--no-windows", default=None,
              help="score texts longer than max_len by the mean logits of windows covering "
                   "them, or by their first max_len tokens [as the model was finetuned]")
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="also write the metrics as JSON")
@one_line_errors
def main(model, task, split, limit, quantized, threshold, max_outliers, engine, windows,
         json_out) -> None:
    """Evaluate MODEL on a task split and print its metrics.

    \b
    Example:
      embbert-eval models/sst2.pt --task sst2 --split dev
      embbert-eval models/sst2.pt --quantized --json sst2_q.json
      embbert-eval models/imdb.pt --quantized --engine c     # the C runtime: same bits
    """
    from ..checkpoint import load
    from ..data import get_task
    from ..errors import EmbBertError
    from ..quant.quantize import check_outlier_options
    from ..train.evaluate import evaluate_checkpoint, uses_windows

    check_writable(json_out, "--json")
    check_outlier_options(threshold, max_outliers)
    ck = load(model)
    task = task or ck.task
    if not task or task == "pretrain":
        raise EmbBertError("model is not finetuned on a task; pass --task")
    split = split or get_task(task).eval_split
    logits_fn = None
    quant_opts = {k: v for k, v in (("threshold", threshold), ("max_outliers", max_outliers))
                  if v is not None}
    if quant_opts and not quantized:
        raise EmbBertError("--threshold and --max-outliers apply only with --quantized")
    if engine == "c" and not quantized:
        raise EmbBertError("--engine c applies only with --quantized")
    windows = uses_windows(ck) if windows is None else windows
    with ExitStack() as stack:
        if quantized:
            from ..quant.as_exported import quantize_as_exported
            mq = quantize_as_exported(ck, **quant_opts)
            logits_fn = mq.logits_batch
            if engine == "c":
                from ..bench.c_engine import c_logits_fn
                logits_fn = stack.enter_context(c_logits_fn(mq))
        metrics, _ = evaluate_checkpoint(ck, task, split, limit=limit, logits_fn=logits_fn,
                                         windows=windows)
    kind = "quantized" if quantized else "fp32"
    how = ", windows" if windows else ""
    click.echo(f"{task} {split} ({kind}{how}): " + ", ".join(f"{k} {v:.4f}" for k, v in
                                                         metrics.items()))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps({"task": task, "split": split, "kind": kind,
                                        "limit": limit, "windows": windows, **quant_opts,
                                        **({"engine": engine} if quantized else {}),
                                        **metrics},
                                       indent=2) + "\n")


if __name__ == "__main__":
    main()
