"""embbert-predict: tokenize a text (or pair) and print ids, segments, logits and the label."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .common import one_line_errors


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("text", required=False)
@click.option("--file", "text_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="read TEXT from this file (UTF-8) instead of the command line")
@click.option("--pair", default=None, help="second text of a pair task ('-': read stdin)")
@click.option("--truncate", is_flag=True, help="cut inputs longer than max_len instead of failing")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@one_line_errors
def main(model, text, text_file, pair, truncate, as_json) -> None:
    """Run MODEL on TEXT with fp32 PyTorch (TEXT '-': read it from stdin).

    \b
    Example:
      embbert-predict models/sst2.pt "a gorgeous, witty, seductive movie"
      embbert-predict models/mrpc.pt "He left." --pair "He went away." --json
      embbert-predict models/imdb.pt --file review.txt
      cat review.txt | embbert-predict models/imdb.pt -
    """
    import torch

    from ..checkpoint import load
    from ..data import TASKS
    from ..errors import EmbBertError
    from ..tokenizer import from_json
    from ..train.evaluate import check_finite

    if (text is None) == (text_file is None):
        raise EmbBertError("give the text as TEXT, '-' (stdin) or --file PATH (exactly one)")
    if text == "-" and pair == "-":
        raise EmbBertError("only one of TEXT and --pair can be read from stdin")
    text = _read_text(text, text_file, "TEXT")
    pair = None if pair is None else _read_text(pair, None, "--pair")
    ck = load(model)
    task = TASKS.get(ck.task)
    if pair is not None and task is not None and not task.pair:
        raise EmbBertError(f"--pair given, but {model} is a single-sentence model ({task.name})")
    for name, t in (("text", text), ("--pair text", pair)):
        if t is not None and not t.strip():
            click.echo(f"warning: empty {name}: the model sees no words", err=True)
    enc = from_json(ck.tokenizer)
    ids, segs = enc.encode(text, pair, max_len=ck.config.max_len, truncate=truncate)
    with torch.no_grad():
        out = ck.model()(torch.tensor([ids]), torch.tensor([segs]))
    check_finite(out.numpy())
    logits = out[0].tolist()
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


def _read_text(arg: str | None, path: Path | None, what: str) -> str:
    """The text from argv, stdin ('-') or a file; never a string that is not valid UTF-8."""
    from ..errors import EmbBertError

    if path is not None:
        raw, where = path.read_bytes(), str(path)
    elif arg == "-":
        raw, where = sys.stdin.buffer.read(), "stdin"
    else:
        try:  # argv that is not UTF-8 arrives with surrogate escapes
            return str(arg).encode("utf-8").decode("utf-8")
        except UnicodeError:
            raise EmbBertError(f"{what} is not valid UTF-8") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise EmbBertError(f"{where}: not valid UTF-8 (byte {e.start})") from None


if __name__ == "__main__":
    main()
