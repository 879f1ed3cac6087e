"""embbert-bench: device logits vs PyTorch fp32 and the quantized simulation, accuracy, cost."""

from __future__ import annotations

import os

# small matrices: threads only fight each other (and any training job on the machine)
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402
import numpy as np  # noqa: E402

from ..bench.target import BOARDS, BUILD_ROOT  # noqa: E402
from ..cbuild import GENERATED  # noqa: E402
from .common import check_writable, one_line_errors  # noqa: E402

EPILOG = """\b
Examples:
  embbert-bench --port socket://127.0.0.1:4444          # after `pio run -e qemu_m4 -t upload`
  embbert-bench --port /dev/ttyUSB0 --model models/sst2.pt --limit 200 --json bench.json
  embbert-bench --board qemu-m7 --model models/sst2.pt --report build/bench-report
  embbert-bench --board host --text "a gorgeous, witty, seductive movie"
  embbert-bench --board qemu-m4 --task sst2 --on-device-tokenizer --json tok.json
  embbert-bench --board qemu-m4 --firmware .pio/build/qemu_m4/firmware.elf   # `make demo`

Without --model, the model is the export in --generated (firmware/generated): its
quantized_model.npz is the simulation the device must match bit for bit, and the checkpoint
export_report.json records adds the fp32 comparison (skipped, with a note, when it is gone).
--board builds and runs the firmware itself (QEMU or the host binary) from firmware/generated
when that holds the model for that board, else from a fresh export in build/bench/, and always
stops it afterwards.
"""


@click.command(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--port", default=None, metavar="URL",
              help="device URL: socket://HOST:PORT (QEMU), /dev/ttyUSB0, pipe:COMMAND")
@click.option("--board", type=click.Choice(BOARDS), default=None,
              help="build and run this target here instead of connecting to --port")
@click.option("--firmware", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="with --board: run this prebuilt firmware (e.g. "
              ".pio/build/qemu_m4/firmware.elf) instead of building one")
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="model.pt the device runs [the one recorded by embbert-export]")
@click.option("--task", default=None, help="task data to send [the model's own task]")
@click.option("--split", default=None, help="split [dev, or the eval split when no dev]")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="first N examples of the split [100]")
@click.option("--text", "texts", multiple=True,
              help="send this sentence instead of task data (repeatable; TAB separates a pair); "
                   "as raw text when the device has the tokenizer")
@click.option("--on-device-tokenizer", "on_device", is_flag=True, default=False,
              help="send raw text (INFER_TEXT): the device tokenizes; reports ids agreement "
                   "with the host tokenizer and the cost of tokenizing")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="write all numbers (and per-sample logits) as JSON")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="write an HTML page with plots into this directory")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="seconds to wait for any reply before giving up")
@click.option("--generated", type=click.Path(file_okay=False, path_type=Path),
              default=GENERATED, show_default=False,
              help="where embbert-export wrote the model [firmware/generated]")
@click.option("--build-dir", type=click.Path(file_okay=False, path_type=Path),
              default=BUILD_ROOT, show_default=False,
              help="where --board exports and builds [build/bench]")
@one_line_errors
def main(port, board, firmware, model, task, split, limit, texts, on_device, json_out,
         report_dir, timeout, generated, build_dir) -> None:
    """Run a task split (or --text) on a device and compare it with PyTorch."""
    from ..bench import run as B
    from ..errors import EmbBertError

    if (port is None) == (board is None):
        raise EmbBertError("give exactly one of --port URL or --board "
                           f"{{{','.join(BOARDS)}}} (see embbert-bench --help)")
    if firmware and not board:
        raise EmbBertError("--firmware needs --board (which emulator or binary runs it)")
    if texts and (task or split or limit):
        raise EmbBertError("--text replaces --task/--split/--limit; give one or the other")
    check_writable(json_out, "--json")  # before the run, not after it
    check_writable(report_dir, "--report", directory=True)
    bm = B.resolve_model(generated, model)
    if model is None:
        click.echo(f"model: {bm.name} (recorded in {generated}/{B.REPORT_NAME})")
    if bm.ckpt is None and board and not firmware:
        raise EmbBertError(f"--board builds from the checkpoint, and {bm.missing_ckpt}")

    target, export_dir, link = _target(port, board, firmware, model or bm.path, bm.sha,
                                       generated, build_dir, timeout)
    export_report = B.read_export_report(export_dir)
    if export_dir != generated:
        bm = B.resolve_model(export_dir, model or bm.path)
    with target as transport:
        dev, info = _open_device(transport, timeout)
        dev.infer_timeout = link.infer_timeout(info, timeout)
        B.check_info(info, bm)
        L = B.device_max_len(info, bm)
        samples = B.select_samples(bm, task, split, limit, texts, L)
        as_text = on_device or (texts and info.has_tokenizer)
        if on_device and not info.has_tokenizer:
            raise EmbBertError(f"{info.board}: the firmware has no on-device tokenizer "
                               "(export with --tokenizer on, rebuild)")
        if as_text:
            samples = _fit_frames(B, info, samples)
            if info.windows:  # the device averages windows of long texts: so do the references
                samples = B.with_windows(bm, samples, info.config["max_len"])
        click.echo(f"device: {info.board} at {transport.url}, model {bm.sha[:12]} verified; "
                   f"{len(samples.seqs)} samples of {samples.source}, T <= {L}")
        if bm.ckpt is None:
            click.echo(f"references: the quantized simulation only; {bm.missing_ckpt}")
        else:
            click.echo("references: PyTorch fp32 and the quantized simulation ...")
        fp32 = B.fp32_reference(bm, samples.ref_seqs)
        fp32 = None if fp32 is None else samples.per_sample(fp32)
        mq, how = B.quant_reference(bm, info.config["max_len"], export_report)
        quant = samples.per_sample(mq.logits_batch(samples.ref_seqs))
        from tqdm import tqdm
        with tqdm(total=len(samples.seqs), desc=f"{info.board} {samples.source}", unit="seq",
                  file=sys.stderr, dynamic_ncols=True, mininterval=0.5) as bar:
            if as_text:
                text = B.run_device_text(dev, samples.examples, bar.update)
                logits = np.asarray(text.logits, np.float32)
                counts = np.asarray(text.counts, np.int64)
            else:
                text = None
                logits, counts = B.run_device(dev, samples.seqs, bar.update)

    run = B.BenchRun(info=info, model=str(bm.path), sha=bm.sha, samples=samples,
                     device=logits, counts=counts, fp32=fp32, quant=quant, quant_how=how,
                     export_report=export_report, text=text)
    _outputs(B.summarize(run), run, bm.labels, json_out, report_dir)


def _fit_frames(B, info, samples):
    """Texts longer than the device's frame cannot go as INFER_TEXT: left out, with a note."""
    keep = [i for i, e in enumerate(samples.examples) if B.fits_text_frame(info, e)]
    if not keep:
        raise B.BenchError(f"no sample fits an INFER_TEXT frame of {info.max_payload} bytes")
    if len(keep) < len(samples.examples):
        click.echo(f"note: {len(samples.examples) - len(keep)} texts longer than the "
                   f"device's {info.max_payload}-byte frame left out", err=True)
    return B.Samples([samples.seqs[i] for i in keep], [samples.examples[i] for i in keep],
                     samples.task, samples.source)


def _target(port, board, firmware, model, sha, generated, build_dir, timeout):
    """(context manager yielding a Transport, directory holding the export record, the link
    settings of the exported board)."""
    from ..bench.link import exported_link_in
    from ..bench.target import Firmware, connect, launch, prepare

    if firmware:
        click.echo(f"running {firmware} on {board}")
        return (launch(Firmware(board, generated, firmware), timeout), generated,
                exported_link_in(generated))
    if board:
        fw = prepare(board, model, sha, generated=generated, build_root=build_dir,
                     echo=click.echo)
        return launch(fw, timeout), fw.generated_dir, exported_link_in(fw.generated_dir)
    link = exported_link_in(generated)
    click.echo(f"link: {link.describe()}")
    return connect(port, timeout, link.baudrate), generated, link


def _outputs(summary: dict, run, labels: list[str], json_out, report_dir) -> None:
    from ..bench import run as B

    table = B.format_table(summary)
    if run.samples.task is None:  # --text: say what the device predicted
        for e, row in zip(run.samples.examples, run.device, strict=True):
            k = int(row.argmax())
            name = labels[k] if k < len(labels) else str(k)
            click.echo(f"{name:>12}  {' '.join(f'{v:+.4f}' for v in row)}  {e.text_a[:60]}")
    click.echo(table)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(summary, indent=1) + "\n")
        click.echo(f"wrote {json_out}")
    if report_dir:
        from ..bench.report import write_report
        rep = run.export_report
        rep = rep if rep and rep.get("model_sha256") == run.sha else None
        click.echo(f"wrote {write_report(report_dir, summary, table, run.info.config, rep)}")
    if summary.get("ids_agreement") is not None and summary["ids_agreement"] < 1.0:
        click.echo(f"note: the device tokenizer gave other ids than the host on samples "
                   f"{summary['ids_disagreeing_samples']}", err=True)
    if summary["bit_exact_quant"] < 1.0:
        click.echo(f"note: {100 * (1 - summary['bit_exact_quant']):.1f}% of the samples differ "
                   f"from the quantized simulation ({run.quant_how})", err=True)
    if not report_dir:
        click.echo("next: add --report DIR for plots, or --json F to keep the numbers")


def _open_device(transport, timeout: float):
    """Sync and INFO, with an error that says what to check when nothing answers."""
    from ..device.session import Device, DeviceTimeout
    from ..errors import EmbBertError

    dev = Device(transport, timeout=timeout, infer_timeout=timeout)
    try:
        dev.sync(timeout=timeout)
        return dev, dev.info()
    except DeviceTimeout as e:
        if e.heard:  # the diagnosis says what came instead of an answer
            raise EmbBertError(f"no EmbBERT-Q answer at {transport.url} ({e})") from e
        raise EmbBertError(f"no EmbBERT-Q device answers at {transport.url} ({e}); is the "
                           "firmware running and the port right?") from e


if __name__ == "__main__":
    main()
