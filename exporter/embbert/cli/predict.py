"""embbert-predict: tokenize a text (or pair) and print ids, segments, logits and the label,
with fp32 PyTorch, or on a device (--port) that tokenizes the raw text itself."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .common import one_line_errors


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("args", nargs=-1, metavar="[MODEL] [TEXT]")
@click.option("--file", "text_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="read TEXT from this file (UTF-8) instead of the command line")
@click.option("--pair", default=None, help="second text of a pair task ('-': read stdin)")
@click.option("--truncate", is_flag=True, help="cut inputs longer than max_len instead of failing "
              "(single texts of a windowed model never need it)")
@click.option("--windows/--no-windows", default=None,
              help="a single text longer than max_len: mean logits of max_len windows covering "
                   "it (printed: the last window's ids) [as the model was finetuned]")
@click.option("--port", default=None, metavar="URL",
              help="ask the device at URL (socket://HOST:PORT, /dev/ttyUSB0): it tokenizes "
                   "the text and classifies it; MODEL is then optional (label names)")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="with --port: seconds to wait for the device")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@one_line_errors
def main(args, text_file, pair, truncate, windows, port, timeout, as_json) -> None:
    """Run MODEL on TEXT with fp32 PyTorch, or on the device at --port (TEXT '-': stdin).

    \b
    Example:
      embbert-predict models/sst2.pt "a gorgeous, witty, seductive movie"
      embbert-predict models/mrpc.pt "He left." --pair "He went away." --json
      embbert-predict models/imdb.pt --file review.txt
      cat review.txt | embbert-predict models/imdb.pt -
      embbert-predict --port socket://127.0.0.1:4444 "a gorgeous, witty, seductive movie"
    """
    from ..errors import EmbBertError

    usage = ("give MODEL and TEXT, the text as TEXT, '-' (stdin) or --file PATH (exactly one); "
             "with --port URL, MODEL is optional")
    # MODEL comes first when given: always without --port; with it, when two arguments are
    # given, or one and --file.
    has_model = port is None or len(args) == 2 or (len(args) == 1 and text_file is not None)
    model = Path(args[0]) if has_model and args else None
    texts = args[1:] if has_model else args
    if (port is None and model is None) or len(texts) + (text_file is not None) != 1:
        raise EmbBertError(usage)
    text = texts[0] if texts else None
    if text == "-" and pair == "-":
        raise EmbBertError("only one of TEXT and --pair can be read from stdin")
    text = _read_text(text, text_file, "TEXT")
    pair = None if pair is None else _read_text(pair, None, "--pair")
    for name, t in (("text", text), ("--pair text", pair)):
        if t is not None and not t.strip():
            click.echo(f"warning: empty {name}: the model sees no words", err=True)
    if windows and pair is not None:
        raise EmbBertError("--windows applies to single texts; pairs are truncated")
    if port is not None:
        if windows is not None:
            raise EmbBertError("--windows/--no-windows: with --port the export decides "
                               "(embbert-export --windows/--no-windows)")
        _on_device(port, model, text, pair, timeout, as_json)
        return
    import torch

    from ..checkpoint import load
    from ..data import TASKS
    from ..tokenizer import from_json
    from ..train.evaluate import check_finite, uses_windows

    ck = load(model)
    task = TASKS.get(ck.task)
    if pair is not None and task is not None and not task.pair:
        raise EmbBertError(f"--pair given, but {model} is a single-sentence model ({task.name})")
    enc = from_json(ck.tokenizer)
    n_win = 1
    if pair is None and (uses_windows(ck) if windows is None else windows):
        ids, segs, out, n_win = _windows_fp32(ck, enc, text)
    else:
        ids, segs = enc.encode(text, pair, max_len=ck.config.max_len, truncate=truncate)
        with torch.no_grad():
            out = ck.model()(torch.tensor([ids]), torch.tensor([segs]))[0].numpy()
    check_finite(out[None])  # one input
    logits = out.tolist()
    label = _label(logits, ck.labels)
    if as_json:
        click.echo(json.dumps({"ids": ids, "segs": segs, "logits": logits, "label": label,
                               "windows": n_win}))
        return
    if n_win > 1:
        click.echo(f"windows: {n_win} of max_len {ck.config.max_len}: logits are their mean; "
                   "ids of the last one")
    click.echo(f"ids:    {ids}")
    click.echo(f"segs:   {segs}")
    click.echo(f"logits: {[round(x, 4) for x in logits]}")
    click.echo(f"label:  {label}")


def _windows_fp32(ck, enc, text: str):
    """(ids, segs of the last window, mean logits, window count), as embbert-eval scores it."""
    from ..data import Example
    from ..tokenizer import encode_windows, window_mean
    from ..train.evaluate import fp32_logits

    seqs, owner = encode_windows(enc, [Example(text, None, -1)], ck.config.max_len)
    mean = window_mean(fp32_logits(ck.model(), seqs), owner, 1)[0]
    return *seqs[-1], mean, len(seqs)


def _label(logits: list[float], labels: list[str]) -> str | float:
    if len(logits) == 1 and not labels:
        return logits[0]  # regression score
    k = max(range(len(logits)), key=logits.__getitem__)
    return labels[k] if k < len(labels) else f"label {k}"


def _on_device(port: str, model: Path | None, text: str, pair: str | None, timeout: float,
               as_json: bool) -> None:
    """One line: the device's label, its confidence and what tokenizing and inference cost."""
    import math

    from ..device.session import Device, DeviceTimeout
    from ..device.transport import open_transport
    from ..errors import EmbBertError

    labels: list[str] = []
    if model is not None:
        from ..checkpoint import load
        labels = load(model).labels or []
    with Device(open_transport(port), timeout=timeout, infer_timeout=timeout) as dev:
        try:
            dev.sync(timeout=min(2.0, timeout))
            info = dev.info()
        except DeviceTimeout as e:
            raise EmbBertError(f"no EmbBERT-Q device answers at {port} ({e})") from e
        if not info.has_tokenizer:
            raise EmbBertError(f"{info.board}: the firmware has no on-device tokenizer "
                               "(export with --tokenizer on and rebuild, or run "
                               "embbert-predict MODEL TEXT on the host)")
        r = dev.infer_text(text.encode(), None if pair is None else pair.encode())
    m = max(r.logits)
    z = sum(math.exp(v - m) for v in r.logits)
    label = _label(r.logits, labels)
    conf = 1.0 / z if len(r.logits) > 1 else None
    if as_json:
        click.echo(json.dumps({"ids": r.ids, "segs": r.segs, "logits": r.logits,
                               "label": label, "confidence": conf, "counter": info.counter,
                               "tokenize_count": r.tokenize_count, "infer_count": r.count,
                               "windows": r.windows}))
        return
    conf_s = f" ({100 * conf:.1f}%)" if conf is not None else ""
    seen = (f"{r.windows} windows of {info.config['max_len']} tokens (mean logits)"
            if r.windows > 1 else f"{r.T} tokens")
    click.echo(f"{label}{conf_s}  [{info.board}: {seen}, tokenize {r.tokenize_count:,} + "
               f"infer {r.count:,} {info.counter}]")


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
