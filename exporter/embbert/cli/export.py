"""embbert-export: checkpoint -> packed int8 C sources for one board."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# small matrices: threads only fight each other (and any training job on the machine)
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import click  # noqa: E402
import numpy as np  # noqa: E402

from ..errors import EmbBertError  # noqa: E402
from .common import check_writable, one_line_errors  # noqa: E402

EPILOG = """\b
Examples:
  embbert-export models/sst2.pt --board qemu-m4
  embbert-export model.pt --board esp32s3 --out build/gen --max-len 128
  embbert-export weights.pt --config cfg.json --board host --calib calib.jsonl

Writes model_data.h, model_data.c, export_report.json and quantized_model.npz (default:
firmware/generated/).
"""


def read_calibration(path: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """JSON lines with "ids" and "segs" (what `embbert-predict --json` prints)."""
    out = []
    lineno = 0
    try:
        with open(path) as f:
            for line in f:
                lineno += 1
                if not line.strip():
                    continue
                obj = json.loads(line)
                out.append((np.asarray(obj["ids"], np.int64), np.asarray(obj["segs"], np.int64)))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise EmbBertError(f"{path}: calibration file must be JSON lines with 'ids' and 'segs' "
                           f"(line {lineno}: {e})") from e
    if not out:
        raise EmbBertError(f"{path}: no calibration sequences")
    return out


def _compare(mq, ckpt_path: str, config_path: str | None, seqs) -> str:
    import torch

    from ..checkpoint import load
    ckpt = load(ckpt_path, config_path)
    model = ckpt.model()
    ref = []
    with torch.no_grad():
        for ids, segs in seqs:
            ref.append(model(torch.as_tensor(ids)[None], torch.as_tensor(segs)[None])[0].numpy())
    ref = np.asarray(ref, np.float64)
    q = mq.logits_batch(seqs).astype(np.float64)
    cos = (q * ref).sum(1) / np.maximum(np.linalg.norm(q, axis=1) * np.linalg.norm(ref, axis=1),
                                        1e-30)
    agree = float((q.argmax(1) == ref.argmax(1)).mean()) * 100
    return (f"quantized vs fp32 on {len(seqs)} random sequences: argmax agreement "
            f"{agree:.1f}%, max abs logit error {np.abs(q - ref).max():.4g}, "
            f"min cosine {cos.min():.5f}")


@click.command(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--board", required=True, help="board name (a TOML file in boards/)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="output directory [firmware/generated]")
@click.option("--max-len", type=int, default=None,
              help="longest input the device accepts [the model's max_len]")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="config JSON, for a plain state_dict")
@click.option("--calib", "calib_path", type=click.Path(dir_okay=False), default=None,
              help="calibration text as JSON lines {ids, segs} [the checkpoint task's training "
                   "text, else random sequences]")
@click.option("--threshold", type=float, default=6.0, show_default=True,
              help="outlier threshold in units of the row RMS (inf: no outliers)")
@click.option("--max-outliers", type=int, default=None,
              help="outlier channels per activation [d_model // 32]")
@click.option("--check/--no-check", default=True, show_default=True,
              help="compare the quantized simulation with fp32 on random sequences")
@click.option("--recover-steps", type=click.IntRange(min=0), default=0, show_default=True,
              help="first finetune with straight-through fake quantization on the "
                   "checkpoint's task training text (recovers accuracy lost to int8)")
@click.option("--recover-lr", type=float, default=1e-4, show_default=True)
@click.option("--tokenizer", "tokenizer", type=click.Choice(["auto", "on", "off"]),
              default=None, help="on-device tokenizer tables [the board's `tokenizer`, "
                                 "auto: when they fit]")
@click.option("--windows/--no-windows", default=None,
              help="on-device text longer than max_len: mean logits of windows covering it, "
                   "or its first max_len tokens [as the model was finetuned]")
@click.option("--recover-out", type=click.Path(dir_okay=False), default=None,
              help="where the recovered checkpoint goes [MODEL.recovered.pt]")
@one_line_errors
def cli(model, board, out_dir, max_len, config_path, calib_path, threshold, max_outliers,
        check, recover_steps, recover_lr, recover_out, tokenizer, windows):
    """Quantize MODEL (a model.pt checkpoint) and generate C sources for BOARD."""
    from ..boards import load_board
    from ..export.exporter import default_out_dir, export, export_windows
    from ..export.outdir import check_out_dir

    b = load_board(board)
    if not Path(model).is_file():
        raise EmbBertError(f"{model}: no such checkpoint file")
    from ..quant.quantize import check_outlier_options
    check_outlier_options(threshold, max_outliers)
    calib = read_calibration(calib_path) if calib_path else None
    dest = Path(out_dir) if out_dir else default_out_dir()
    check_out_dir(dest)
    # the checks export() makes, before anything slow (recovery, quantization) is said or done
    from ..checkpoint import load
    from ..export.preflight import check_fits, export_length
    ck = load(model, config_path)
    cfg = ck.config
    check_fits(cfg, b, export_length(cfg, max_len), max_outliers)
    export_windows(ck, windows)
    if recover_steps:
        check_writable(Path(recover_out) if recover_out else Path(model).with_suffix(
            ".recovered.pt"), "--recover-out")
    if recover_steps:
        model = _recover(model, config_path, calib, max_len, threshold, max_outliers,
                         recover_steps, recover_lr, recover_out)
        config_path = None
    click.echo(f"quantizing {model} for {b.name} ({b.description}) ...")
    res, mq = export(model, b, dest, max_len=max_len, calib=calib, threshold=threshold,
                     max_outliers=max_outliers, config_path=config_path, tokenizer=tokenizer,
                     windows=windows)
    click.echo(res.table)
    if not res.report["fits"]:
        raise EmbBertError(f"model does not fit {b.name} (see the table above); nothing written")
    outl = [len(L.h_outliers) for L in mq.layers]
    click.echo(f"outlier channels per layer (hn): {outl}; calibration: "
               f"{mq.meta['calibration']}")
    if check:
        from ..quant import random_calibration
        seqs = random_calibration(mq.config, 32, seed=1, max_len=min(mq.config.max_len, 64))
        click.echo(_compare(mq, model, config_path, seqs))
    click.echo(f"wrote {dest}/model_data.h, model_data.c, export_report.json, "
               "quantized_model.npz" + (", platformio_board.ini" if b.pio_env else ""))
    if b.pio_env and dest.resolve() == default_out_dir().resolve():
        click.echo(f"next: pio run -t upload    (builds env {b.pio_env}: "
                   f"{dest.name}/platformio_board.ini sets it)")
    elif b.pio_env:
        click.echo(f"next: pio run -e {b.pio_env} -t upload (with this export in "
                   "firmware/generated)")


def _recover(model, config_path, calib, max_len, threshold, max_outliers, steps, lr, out):
    from ..checkpoint import load, save
    from ..quant.as_exported import default_calibration
    from ..quant.recover import recover, task_training_data
    ckpt = load(model, config_path)
    L = max_len or ckpt.config.max_len
    data = task_training_data(ckpt, L)
    cal = calib if calib else default_calibration(ckpt, L)[0]
    with click.progressbar(length=steps, label=f"recovery finetune on {ckpt.task}/train "
                           f"({len(data)} examples)") as bar:
        rec = recover(ckpt, data, cal, steps=steps, lr=lr, threshold=threshold,
                      max_outliers=max_outliers, progress=lambda i, loss: bar.update(1))
    path = Path(out) if out else Path(model).with_suffix(".recovered.pt")
    save(rec, path)
    click.echo(f"wrote recovered checkpoint {path} (export and bench use it)")
    return str(path)


def main(argv: list[str] | None = None) -> None:
    """Errors inside the command go through one_line_errors; here only click's own."""
    try:
        rv = cli.main(args=argv, prog_name="embbert-export", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        click.echo(f"error: {e.format_message()} (see embbert-export --help)", err=True)
        sys.exit(2)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
