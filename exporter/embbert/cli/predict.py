"""embbert-predict: tokenize a text (or pair) and print ids, segments, logits and the label."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .common import one_line_errors


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("text")
@click.option("--pair", default=None, help="second text of a pair task")
@click.option("--truncate", is_flag=True, help="cut inputs longer than max_len instead of failing")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@one_line_errors
def main(model, text, pair, truncate, as_json) -> None:
    """Run MODEL on TEXT with fp32 PyTorch.

    \b
    Example:
      embbert-predict models/sst2.pt "a gorgeous, witty, seductive movie"
      embbert-predict models/mrpc.pt "He left." --pair "He went away." --json
    """
    import torch

    from ..checkpoint import load
    from ..tokenizer import from_json

    ck = load(model)
    enc = from_json(ck.tokenizer)
    ids, segs = enc.encode(text, pair, max_len=ck.config.max_len, truncate=truncate)
    with torch.no_grad():
        logits = ck.model()(torch.tensor([ids]), torch.tensor([segs]))[0].tolist()
    if ck.labels:
        label = ck.labels[max(range(len(logits)), key=logits.__getitem__)]
    else:
        label = logits[0]  # regression score
    if as_json:
        click.echo(json.dumps({"ids": ids, "segs": segs, "logits": logits, "label": label}))
        return
    click.echo(f"ids:    {ids}")
    click.echo(f"segs:   {segs}")
    click.echo(f"logits: {[round(x, 4) for x in logits]}")
    click.echo(f"label:  {label}")


if __name__ == "__main__":
    main()
